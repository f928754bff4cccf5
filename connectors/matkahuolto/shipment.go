package matkahuolto

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// Root is the root element of Matkahuolto's shipment XML.
const Root = "MHShipmentRequest"

// ShipmentRequest is the part of an MHShipmentRequest (Matkahuolto's
// shipment XML, version 2.0, POSTed to …/mpaketti/mhshipmentxml) that the
// connector reads. UserId and Password are not read; other elements
// (types, weights, sender, payer, rows, …) are Matkahuolto's business and
// ignored.
type ShipmentRequest struct {
	XMLName   xml.Name
	Shipments []Shipment `xml:"Shipment"`
}

// Shipment is the receiver part of one Shipment.
type Shipment struct {
	// SenderReference is the merchant's reference of the shipment (its
	// order number): the receiver's link (systemId 3). Required.
	SenderReference string
	// ReceiverName1 is the receiver; ReceiverName2 its second name line
	// (often a company or c/o), not read.
	ReceiverName1 string
	ReceiverName2 string
	// ReceiverAddress, ReceiverPostal and ReceiverCity are the receiver's
	// street address (Finnish: the XML has no country).
	ReceiverAddress string
	ReceiverPostal  string
	ReceiverCity    string
	// ReceiverContactName is the person to notify; the receiver's name
	// when given.
	ReceiverContactName string
	// ReceiverContactNumber is the mobile number of the arrival notice
	// (358401234567, +358…, 040…).
	ReceiverContactNumber string
	ReceiverEmail         string
	// DestinationPlaceCode is the pickup point: read, not stored.
	DestinationPlaceCode string
}

// maxShipments bounds the shipments of one request.
const maxShipments = 100

// maxText bounds every text the connector reads (the register's own limits
// are tighter for most fields and checked there).
const maxText = 255

func decodeRequest(body []byte) (*ShipmentRequest, error) {
	var r ShipmentRequest
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charsetReader
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("the body is not an %s: %w", Root, xmlError(err))
	}
	if r.XMLName.Local != Root {
		return nil, fmt.Errorf("the body is not an %s: its root element is another", Root)
	}
	// Nothing but white space and comments may follow the root.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the body is not an %s: %w", Root, xmlError(err))
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, fmt.Errorf("the body is not an %s: data after the root element", Root)
			}
		default:
			return nil, fmt.Errorf("the body is not an %s: data after the root element", Root)
		}
	}
	return &r, nil
}

// drafts are the receivers as observations. Errors are *fault.Validation
// naming Matkahuolto's elements.
func (r *ShipmentRequest) drafts(splitNames bool) ([]intake.Draft, error) {
	v := &fault.Validation{}
	switch n := len(r.Shipments); {
	case n == 0:
		v.Add("Shipment", "is required: the request holds no shipment")
		return nil, v
	case n > maxShipments:
		v.Add("Shipment", "the request holds %d shipments; at most %d are taken at once", n, maxShipments)
		return nil, v
	}
	out := make([]intake.Draft, 0, len(r.Shipments))
	for i, s := range r.Shipments {
		prefix := fmt.Sprintf("Shipment[%d].", i)
		text := func(field, s string) string {
			if utf8.RuneCountInString(s) > maxText {
				v.Add(prefix+field, "must be at most %d characters", maxText)
				return ""
			}
			return strings.TrimSpace(s)
		}
		ref := text("SenderReference", s.SenderReference)
		name1 := text("ReceiverName1", s.ReceiverName1)
		text("ReceiverName2", s.ReceiverName2)
		street := text("ReceiverAddress", s.ReceiverAddress)
		postal := text("ReceiverPostal", s.ReceiverPostal)
		city := text("ReceiverCity", s.ReceiverCity)
		contact := text("ReceiverContactName", s.ReceiverContactName)
		phone := text("ReceiverContactNumber", s.ReceiverContactNumber)
		email := text("ReceiverEmail", s.ReceiverEmail)
		text("DestinationPlaceCode", s.DestinationPlaceCode)
		if ref == "" && utf8.RuneCountInString(s.SenderReference) <= maxText {
			v.Add(prefix+"SenderReference", "is required: the shipment's reference is the receiver's link")
		}
		d := intake.Draft{
			Link:  customer.ExternalLink{SystemID: customer.Matkahuolto, Identifier: ref},
			Trust: intake.Observation,
		}
		name := contact
		if name == "" {
			name = name1
		}
		delivery.ReceiverContact(&d, name, email, phone, splitNames)
		// The receiver's address, complete or not at all; never the
		// pickup point.
		if street != "" && postal != "" && city != "" {
			d.AddAddresses = []customer.Address{{Type: customer.Delivery, StreetAddress1: street, PostalCode: postal, City: city, Country: "FI"}}
		}
		out = append(out, d)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// xmlError keeps what an XML error says without the body's text.
func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Msg == "unexpected EOF" {
			return fmt.Errorf("the XML ends early (line %d)", se.Line)
		}
		return fmt.Errorf("invalid XML at line %d", se.Line)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("it holds no XML element")
	}
	if strings.Contains(err.Error(), errCharset.Error()) {
		return errCharset // the decoder wraps it with %v
	}
	return errors.New("invalid XML")
}

var errCharset = errors.New("the XML declares an encoding other than UTF-8 or ISO-8859-1")

// charsetReader reads ISO-8859-1 (older Finnish integrations write it);
// the decoder reads UTF-8 itself.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return &latin1Reader{r: bufio.NewReader(in)}, nil
	}
	return nil, errCharset
}

// latin1Reader turns ISO-8859-1 into UTF-8: every byte is the code point.
type latin1Reader struct {
	r   *bufio.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.buf) < len(p) {
		b, err := l.r.ReadByte()
		if err != nil {
			if len(l.buf) == 0 {
				return 0, err
			}
			break
		}
		l.buf = utf8.AppendRune(l.buf, rune(b))
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}
