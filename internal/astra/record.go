package astra

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// record is one ASTRA environment record (../shared/astra/FORMAT.md), the
// fields the compiler reads. Fields whose type varies between producers
// (ids written as numbers or strings, answers as strings or numbers) use
// lenient types.
type record struct {
	UUID     string `json:"uuid"`
	Metadata struct {
		Domain   string `json:"domain"`
		Language string `json:"language"`
	} `json:"_metadata"`
	ScenarioType       string                `json:"scenario_type"`
	MainQuestion       string                `json:"main_question"`
	FinalAnswer        scalar                `json:"final_answer"`
	DecompositionTrace []traceStep           `json:"decomposition_trace"`
	EnvResult          map[string]*envResult `json:"env_result"`
}

// traceStep is one sub-question of decomposition_trace.
type traceStep struct {
	UUID          flexInt   `json:"_uuid"`
	HopLevel      flexInt   `json:"hop_level"`
	SubQuestion   string    `json:"sub_question"`
	SubAnswer     scalar    `json:"sub_answer"`
	IsParallel    bool      `json:"is_parallel"`
	Dependency    []flexInt `json:"dependency"`
	ToolNecessity bool      `json:"tool_necessity"`
}

// envResult is a value of env_result: the synthesized tool of a
// sub-question.
type envResult struct {
	Question           string `json:"question"`
	Answer             scalar `json:"answer"`
	EnvSynthesisResult struct {
		Data struct {
			ToolDocument      json.RawMessage `json:"tool_document"`
			ToolCallStatement string          `json:"tool_call_statement"`
			Code              string          `json:"code"`
			ToolCallAns       *string         `json:"tool_call_ans"`
		} `json:"data"`
	} `json:"env_synthesis_result"`
	MergeFlag bool `json:"merge_flag"`
}

// scalar is a JSON string, number or boolean read as text; null is "".
type scalar string

func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = scalar(v)
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return fmt.Errorf("want a string or number, got %s", b[:1])
	default:
		*s = scalar(b)
	}
	return nil
}

// flexInt is an integer written as a JSON number or a numeric string.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return fmt.Errorf("want an integer, got %s", b)
		}
		v = int(f)
	}
	*n = flexInt(v)
	return nil
}

// MaxRecordBytes bounds one line of a records file.
const MaxRecordBytes = 64 << 20

// Reader reads a JSON Lines file of records one line at a time, so that
// files of any size stream through bounded memory. Lines may be of any
// length up to MaxRecordBytes; blank lines are skipped; a UTF-8 byte order
// mark and CR line ends are accepted.
type Reader struct {
	r     *bufio.Reader
	line  int
	bytes int64
	buf   []byte
	limit int // MaxRecordBytes; smaller in tests
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<20), limit: MaxRecordBytes}
}

// Line is the number of the line last returned (1-based).
func (r *Reader) Line() int { return r.line }

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.bytes }

// Next returns the next non-blank line, valid until the following call, or
// io.EOF. A line that is not UTF-8 or is too long is returned with an
// error that names it; reading can continue after it.
func (r *Reader) Next() ([]byte, error) {
	for {
		r.buf = r.buf[:0]
		tooLong := false
		for {
			chunk, err := r.r.ReadSlice('\n')
			r.bytes += int64(len(chunk))
			if len(r.buf)+len(chunk) > r.limit {
				tooLong = true
			} else {
				r.buf = append(r.buf, chunk...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(r.buf) == 0 && !tooLong {
				return nil, io.EOF
			}
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("line %d: %w", r.line+1, err)
			}
			break
		}
		r.line++
		if tooLong {
			return nil, fmt.Errorf("line %d: %w (%d bytes)", r.line, ErrRecordTooLarge, r.limit)
		}
		b := r.buf
		if r.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("line %d: %w", r.line, ErrNotUTF8)
		}
		return b, nil
	}
}
