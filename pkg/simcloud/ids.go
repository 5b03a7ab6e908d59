package simcloud

import (
	"math/rand/v2"
	"sync"
	"time"
)

// idAlphabet is what follows "d-" in an Alibaba Cloud disk ID.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// idLength is the number of characters after "d-" (d-2zeeujx1zexxkbc8ny4b).
const idLength = 20

// idSource hands out disk IDs; with the same seed it hands out the same
// sequence.
type idSource struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newIDSource(seed uint64) *idSource {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var key [32]byte
	for i := range 4 {
		s := seed + uint64(i)*0x9e3779b97f4a7c15
		for j := range 8 {
			key[i*8+j] = byte(s >> (8 * j))
		}
	}
	return &idSource{rng: rand.New(rand.NewChaCha8(key))}
}

// next returns a new disk ID.
func (s *idSource) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, 0, 2+idLength)
	b = append(b, "d-"...)
	for range idLength {
		b = append(b, idAlphabet[s.rng.IntN(len(idAlphabet))])
	}
	return string(b)
}
