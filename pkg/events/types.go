package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// typeNames and typeValues are the canonical event types declared in the contracts
// (retailbridge.canonical.v1.EventType and its event_type_name option), read once from the
// descriptor so that the names live in one place.
var typeNames, typeValues = declaredTypes()

func declaredTypes() (map[canonicalv1.EventType]string, map[string]canonicalv1.EventType) {
	names := map[canonicalv1.EventType]string{}
	values := map[string]canonicalv1.EventType{}
	vals := canonicalv1.EventType(0).Descriptor().Values()
	for i := range vals.Len() {
		v := vals.Get(i)
		t := canonicalv1.EventType(v.Number())
		if t == canonicalv1.EventType_EVENT_TYPE_UNSPECIFIED {
			continue
		}
		name := typeNameOption(v)
		// The contract promises one unique name per value; a violation is a programming error
		// caught by the first test that loads the package.
		if name == "" || values[name] != canonicalv1.EventType_EVENT_TYPE_UNSPECIFIED {
			panic(fmt.Sprintf("events: %s has a missing or repeated event_type_name %q", v.Name(), name))
		}
		names[t], values[name] = name, t
	}
	return names, values
}

func typeNameOption(v protoreflect.EnumValueDescriptor) string {
	opts := v.Options()
	if opts == nil || !proto.HasExtension(opts, canonicalv1.E_EventTypeName) {
		return ""
	}
	name, _ := proto.GetExtension(opts, canonicalv1.E_EventTypeName).(string)
	return name
}

// TypeName is the wire name of a declared event type (what Event.type carries), for example
// "retailbridge.wms.return.inspected.v1"; "" for EVENT_TYPE_UNSPECIFIED or an unknown value.
func TypeName(t canonicalv1.EventType) string { return typeNames[t] }

// TypeOf is the declared event type an Event.type names, or EVENT_TYPE_UNSPECIFIED for a type
// the contracts do not declare (a process service's own events, or a newer producer's).
func TypeOf(name string) canonicalv1.EventType { return typeValues[name] }
