package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/abijson"
)

// MaxArgumentsBytes bounds the size of one tool call's arguments string.
// Larger arguments get a tool error without being parsed.
const MaxArgumentsBytes = 64 << 10

// Tool is a tool an environment offers: its name, description, JSON Schema
// for the arguments, and the handler that answers calls.
type Tool struct {
	Name        string
	Description string
	// Schema is a JSON Schema (draft 2020-12) with "type": "object".
	Schema json.RawMessage
	// Handler answers a call whose arguments passed Schema. A string result
	// is the tool message's content as is; anything else is JSON-encoded.
	// An error is shown to the agent as a tool error.
	Handler func(ep *Episode, args json.RawMessage) (any, error)

	compiled *jsonschema.Schema
	quick    *quickSchema // nil: always ask compiled
}

// NewTool declares a tool whose arguments decode into A after validation.
// schema is the JSON Schema of the arguments object.
func NewTool[A any](name, description, schema string, fn func(ep *Episode, args A) (any, error)) *Tool {
	return &Tool{
		Name:        name,
		Description: description,
		Schema:      json.RawMessage(schema),
		Handler: func(ep *Episode, raw json.RawMessage) (any, error) {
			var a A
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, &ToolError{Message: "invalid arguments: " + err.Error()}
			}
			return fn(ep, a)
		},
	}
}

// compiledSchema is a compiled argument schema and its quick check.
type compiledSchema struct {
	full  *jsonschema.Schema
	quick *quickSchema
}

// schemaCache keeps compiled schemas for the life of the instance: tools are
// re-declared every episode with the same schema bytes.
var schemaCache = map[string]compiledSchema{}

// CompileSchema compiles a tool's argument schema as the SDK does, so hosts
// and tests can check schemas with the same rules.
func CompileSchema(schema []byte) (*jsonschema.Schema, error) {
	c, err := compileSchema(schema)
	return c.full, err
}

func compileSchema(schema []byte) (compiledSchema, error) {
	if s, ok := schemaCache[string(schema)]; ok {
		return s, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return compiledSchema{}, fmt.Errorf("schema is not JSON: %w", err)
	}
	if m, ok := doc.(map[string]any); !ok || m["type"] != "object" {
		return compiledSchema{}, fmt.Errorf(`schema must be an object schema with "type": "object"`)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("args.json", doc); err != nil {
		return compiledSchema{}, fmt.Errorf("schema: %w", err)
	}
	s, err := c.Compile("args.json")
	if err != nil {
		return compiledSchema{}, fmt.Errorf("schema: %w", err)
	}
	// The quick check reads its own decoding of the schema: the compiler
	// may keep doc.
	quickDoc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	cs := compiledSchema{full: s, quick: compileQuick(quickDoc)}
	schemaCache[string(schema)] = cs
	return cs, nil
}

func (t *Tool) compile() error {
	if t.Name == "" {
		return fmt.Errorf("a tool has no name")
	}
	if t.Handler == nil {
		return fmt.Errorf("tool %q has no handler", t.Name)
	}
	s, err := compileSchema(t.Schema)
	if err != nil {
		return fmt.Errorf("tool %q: %w", t.Name, err)
	}
	t.compiled, t.quick = s.full, s.quick
	return nil
}

func (t *Tool) wire() abi.Tool {
	var compact bytes.Buffer
	if err := json.Compact(&compact, t.Schema); err != nil {
		compact.Write(t.Schema) // unreachable after compile
	}
	return abi.Tool{Type: "function", Function: abi.Function{
		Name: t.Name, Description: t.Description, Parameters: abi.RawJSON(compact.Bytes()),
	}}
}

// validate parses and checks the arguments string of a call. It returns
// the arguments ("{}" for blank ones) and, unless the quick check passed
// them without decoding, their decoded value. Its error is written for the
// agent to read.
func (t *Tool) validate(arguments string) (string, any, error) {
	if len(arguments) > MaxArgumentsBytes {
		return "", nil, fmt.Errorf("arguments too large: %d bytes (limit %d)", len(arguments), MaxArgumentsBytes)
	}
	if strings.TrimSpace(arguments) == "" {
		arguments = "{}"
	}
	if t.quick != nil && t.quick.validJSON(arguments) {
		return arguments, nil, nil
	}
	inst, err := decodeArguments(arguments)
	if err != nil {
		return "", nil, fmt.Errorf("arguments are not valid JSON: %s", cleanJSONError(err))
	}
	if err := t.compiled.Validate(inst); err != nil {
		return "", nil, fmt.Errorf("invalid arguments: %s", schemaErrorText(err))
	}
	return arguments, inst, nil
}

// decodeArguments decodes arguments as jsonschema.UnmarshalJSON does.
func decodeArguments(arguments string) (any, error) {
	if v, ok := abijson.DecodeValue(arguments); ok {
		return v, nil
	}
	return jsonschema.UnmarshalJSON(strings.NewReader(arguments))
}

func cleanJSONError(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "jsonschema: ")
}

// schemaErrorText flattens a validation error into one line:
// "at '/amount': got string, want integer; at ”: missing property 'to'".
func schemaErrorText(err error) string {
	lines := strings.Split(err.Error(), "\n")
	var parts []string
	for _, l := range lines[1:] {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- "))
		if l != "" {
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return lines[0]
	}
	// The validator reports sibling failures in the order it iterates a
	// map; sorted, the message is the same in every module and run.
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
