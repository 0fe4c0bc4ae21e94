package ofac

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlScanner wraps an xml.Decoder, keeping the element path for errors and
// turning every failure into a *ParseError.
type xmlScanner struct {
	ctx  context.Context
	d    *xml.Decoder
	file string
	path []string
	n    int // tokens read, for periodic ctx checks
}

func newXMLScanner(ctx context.Context, r io.Reader, file string) *xmlScanner {
	d := xml.NewDecoder(r)
	d.Strict = true
	return &xmlScanner{ctx: ctx, d: d, file: file}
}

// errAt builds a ParseError at the decoder's current position.
func (s *xmlScanner) errAt(err error, elem string) error {
	line, col := s.d.InputPos()
	if elem == "" {
		elem = strings.Join(s.path, "/")
	}
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, ErrCompression):
		// keep as is
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF"):
		err = fmt.Errorf("%w: %v", ErrTruncated, err)
	case errors.As(err, &se):
		line = se.Line
		err = fmt.Errorf("%w: %v", ErrMalformed, se.Msg)
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrTruncated), errors.Is(err, ErrNoReferences),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		err = fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &ParseError{File: s.file, Line: line, Column: col, Element: elem, Err: err}
}

// next returns the next start or end element, or io.EOF after the root
// element has been closed. Character data, comments and processing
// instructions are skipped; non-whitespace text outside the root is an
// error.
func (s *xmlScanner) next() (xml.Token, error) {
	for {
		s.n++
		if s.n%4096 == 0 {
			if err := s.ctx.Err(); err != nil {
				return nil, err
			}
		}
		tok, err := s.d.Token()
		if err == io.EOF {
			if len(s.path) > 0 {
				return nil, s.errAt(fmt.Errorf("%w: unexpected EOF inside <%s>", ErrTruncated, s.path[len(s.path)-1]), "")
			}
			return nil, io.EOF
		}
		if err != nil {
			return nil, s.errAt(err, "")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			s.path = append(s.path, t.Name.Local)
			return t, nil
		case xml.EndElement:
			s.path = s.path[:len(s.path)-1]
			return t, nil
		}
	}
}

// decode decodes the element just started into v; the element is consumed.
func (s *xmlScanner) decode(v any, start *xml.StartElement) error {
	line, _ := s.d.InputPos()
	err := s.d.DecodeElement(v, start)
	s.path = s.path[:len(s.path)-1]
	if err != nil {
		elem := strings.Join(append(s.path, start.Name.Local), "/")
		pe := s.errAt(err, elem).(*ParseError)
		if pe.Line == 0 {
			pe.Line = line
		}
		return pe
	}
	return nil
}

// skip consumes the element just started.
func (s *xmlScanner) skip() error {
	if err := s.d.Skip(); err != nil {
		return s.errAt(err, "")
	}
	s.path = s.path[:len(s.path)-1]
	return nil
}

func (s *xmlScanner) line() int {
	l, _ := s.d.InputPos()
	return l
}
