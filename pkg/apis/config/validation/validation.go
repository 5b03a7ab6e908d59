// Package validation checks VolumeTopologyArgs after defaulting.
package validation

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
)

// csiDriverNameMaxLength is the longest CSI driver name the CSI spec allows.
const csiDriverNameMaxLength = 63

// instanceFamilyRE matches an ECS instance family such as "g7se" or "c8y".
var instanceFamilyRE = regexp.MustCompile(`^[a-z0-9]+$`)

// ValidateVolumeTopologyArgs validates defaulted args; path is where the args
// sit in the configuration, such as field.NewPath("args"). Every problem found
// is reported, each under the path of its field.
func ValidateVolumeTopologyArgs(path *field.Path, args *config.VolumeTopologyArgs) error {
	var allErrs field.ErrorList
	allErrs = append(allErrs, validateDrivers(path.Child("drivers"), args.Drivers)...)
	if args.MaxNodesPerZone <= 0 {
		allErrs = append(allErrs, field.Invalid(path.Child("maxNodesPerZone"), args.MaxNodesPerZone, "must be greater than 0"))
	}
	allErrs = append(allErrs, validateInstanceFamilies(path.Child("nvmeInstanceFamilies"), args.NVMeInstanceFamilies)...)
	if args.NVMeLabelKey == "" {
		allErrs = append(allErrs, field.Required(path.Child("nvmeLabelKey"), "the node label that declares NVMe multi-attach support"))
	} else {
		allErrs = append(allErrs, validateLabelKey(path.Child("nvmeLabelKey"), args.NVMeLabelKey)...)
	}
	allErrs = append(allErrs, validateZoneLabelKeys(path.Child("zoneLabelKeys"), args.ZoneLabelKeys)...)
	return allErrs.ToAggregate()
}

func validateDrivers(path *field.Path, drivers []string) field.ErrorList {
	return validateList(path, drivers, "CSI driver name", true, func(p *field.Path, d string) field.ErrorList {
		var errs field.ErrorList
		for _, msg := range isCSIDriverName(d) {
			errs = append(errs, field.Invalid(p, d, msg))
		}
		return errs
	})
}

// validateList checks a list whose entries must be non-empty and unique, and
// each valid by check; required says the list itself must not be empty.
func validateList(path *field.Path, items []string, what string, required bool, check func(*field.Path, string) field.ErrorList) field.ErrorList {
	if required && len(items) == 0 {
		return field.ErrorList{field.Required(path, "at least one "+what)}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, item := range items {
		p := path.Index(i)
		switch {
		case item == "":
			errs = append(errs, field.Required(p, article(what)+" "+what))
		case seen.Has(item):
			errs = append(errs, field.Duplicate(p, item))
		default:
			seen.Insert(item)
			errs = append(errs, check(p, item)...)
		}
	}
	return errs
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

// isCSIDriverName returns why name is not a valid CSI driver name: at most 63
// characters of alphanumerics (either case), '-' and '.', starting and ending
// with an alphanumeric. Apart from the case and the length, that is a DNS-1123
// subdomain.
func isCSIDriverName(name string) []string {
	if len(name) > csiDriverNameMaxLength {
		return []string{validation.MaxLenError(csiDriverNameMaxLength)}
	}
	if msgs := validation.IsDNS1123Subdomain(strings.ToLower(name)); len(msgs) > 0 {
		return []string{"a CSI driver name must consist of alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'diskplugin.csi.alibabacloud.com')"}
	}
	return nil
}

func validateInstanceFamilies(path *field.Path, families []string) field.ErrorList {
	return validateList(path, families, "instance family", false, func(p *field.Path, f string) field.ErrorList {
		if !instanceFamilyRE.MatchString(f) {
			return field.ErrorList{field.Invalid(p, f, "an instance family must consist of lowercase alphanumeric characters only (e.g. 'g7se' or 'c8y')")}
		}
		return nil
	})
}

func validateZoneLabelKeys(path *field.Path, keys []string) field.ErrorList {
	return validateList(path, keys, "node zone label key", true, validateLabelKey)
}

func validateLabelKey(path *field.Path, key string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}
