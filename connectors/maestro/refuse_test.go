package maestro_test

import (
	"fmt"
	"strings"
	"testing"

	"kirjuri/connectors/maestro"
)

// Hostile and broken deliveries are refused with errors that name the row
// (CSV: 2 is the first data row; JSON: the item's index) and the source
// column, never the value.
func TestParseRefuses(t *testing.T) {
	const (
		csvType  = "text/csv"
		jsonType = "application/json"
		head     = "Asiakasnro;Etunimi;Sukunimi;Luotto;Puhelin;Katuosoite;Postinumero;Postitoimipaikka;Muokattu\n"
	)
	// secretish is a value that must never be echoed.
	const secretish = "Salainen"
	for _, tc := range []struct {
		name       string
		cfg        func(*maestro.Config)
		ct, body   string
		want       []string
		wantAbsent []string
	}{
		{name: "empty body", ct: csvType, body: "", want: []string{"the body is empty"}},
		{name: "byte order mark only", ct: jsonType, body: "\ufeff \r\n", want: []string{"the body is empty"}},
		{name: "no Content-Type", body: "[]", want: []string{"Content-Type is missing: send text/csv or application/json"}},
		{name: "plain text", ct: "text/plain", body: "[]", want: []string{`Content-Type "text/plain" is not taken`}},
		{name: "a spreadsheet", ct: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body: "PK\x03\x04", want: []string{"spreadsheets are imported through POST /v1/imports"}},
		{name: "Latin-1", ct: "text/csv; charset=ISO-8859-1", body: head, want: []string{`charset "ISO-8859-1": the export must be UTF-8`}},
		{name: "bad Content-Type", ct: "text/csv; charset", body: head, want: []string{"Content-Type does not parse"}},

		{name: "invalid UTF-8 in a cell", ct: csvType, body: head + "7;Ma\xffija;" + secretish + ";;;;;;\n",
			want: []string{`row 2, column "Etunimi": is not valid UTF-8`}},
		{name: "invalid UTF-8 in the header", ct: csvType, body: "Asiakasnro;Eti\xff\n7;x\n",
			want: []string{"header: column 2: the name is not valid UTF-8"}},
		{name: "ragged row", ct: csvType, body: head + "7;Maija;M;;;;;;\n8;Matti;" + secretish + "\n",
			want: []string{"row 3: has 3 fields; the header has 9"}},
		{name: "too many rows", cfg: func(c *maestro.Config) { c.MaxRows = 2 }, ct: csvType,
			body: head + "1;A;B;;;;;;\n2;A;B;;;;;;\n3;A;B;;;;;;\n", want: []string{"more than 2 customers (maxRows)"}},
		{name: "too many JSON items", cfg: func(c *maestro.Config) { c.MaxRows = 1 }, ct: jsonType,
			body: `[{"Asiakasnro": 1}, {"Asiakasnro": 2}]`, want: []string{"more than 1 customers (maxRows)"}},
		{name: "duplicate header", ct: csvType, body: "Asiakasnro;Etunimi;Sukunimi;ETUNIMI\n7;A;B;C\n",
			want: []string{`header, column "ETUNIMI": appears twice (columns 2 and 4)`}},
		{name: "no id column", ct: csvType, body: "Nro;Etunimi\n7;A\n",
			want: []string{`header, column "Asiakasnro": is missing: it is idColumn`, `the header has "Nro", "Etunimi"`}},
		{name: "ambiguous separator", ct: csvType, body: "Asiakasnro;Etunimi,Sukunimi\n", want: []string{"as many ';' as ','"}},
		{name: "bare quote", ct: csvType, body: head + "7;Ma\"ija;" + secretish + ";;;;;;\n", want: []string{"row 2: a quote inside a field that is not quoted (line 2"}},
		{name: "unclosed quote", ct: csvType, body: head + "7;\"Maija;" + secretish + ";;;;;;\n", want: []string{"row 2: a quoted field is not closed"}},
		{name: "missing id", ct: csvType, body: head + "7;A;B;;;;;;\n ;Matti;" + secretish + ";;;;;;\n",
			want: []string{`row 3, column "Asiakasnro": is empty or missing`}},
		{name: "a row with data but no id", ct: csvType, body: "Asiakasnro;Etunimi;Huom\n7;A;\n;;" + secretish + "\n",
			want: []string{`row 3, column "Asiakasnro": is empty or missing`}},
		{name: "line numbers after Excel's separator line", ct: csvType, body: "sep=;\r\nAsiakasnro;Etunimi\r\n7;\"" + secretish + "\r\n",
			want: []string{"row 2 (line 3): a quoted field is not closed"}},
		{name: "id too long", ct: csvType, body: head + strings.Repeat("9", 300) + ";A;B;;;;;;\n",
			want: []string{`row 2, column "Asiakasnro": is 300 characters long`}},
		{name: "duplicate id", ct: csvType, body: head + "7;A;B;;;;;;\n8;A;B;;;;;;\n 7 ;A;B;;;;;;\n",
			want: []string{`row 4, column "Asiakasnro": has the same customer id as row 2`}},
		{name: "a value the field table refuses", ct: csvType, body: head + "7;A;B;" + secretish + ";;;;;\n",
			want: []string{`row 2, column "Luotto": must be true or false`}},
		{name: "bad phone", ct: csvType, body: head + "7;A;B;;" + secretish + ";;;;\n",
			want: []string{`row 2, column "Puhelin":`}},
		{name: "address without a postal code", ct: csvType, body: head + "7;A;B;;;" + secretish + "katu 1;;Helsinki;\n",
			want: []string{`row 2, column "Postinumero": is required for an address`}},
		{name: "bad postal code", ct: csvType, body: head + "7;A;B;;;Katu 1;1234;Helsinki;\n",
			want: []string{`row 2, column "Postinumero":`}},
		{name: "bad update time", ct: csvType, body: head + "7;A;B;;;;;;31.2.2024\n",
			want: []string{`row 2, column "Muokattu": must be a date and time: RFC 3339`}},
		{name: "problems of several rows at once", ct: csvType, body: head + "7;A;B;ehkä;;;;;\n;A;B;;;;;;\n9;A;B;;;;;;eilen\n",
			want: []string{`row 2, column "Luotto"`, `row 3, column "Asiakasnro"`, `row 4, column "Muokattu"`}},
		{name: "at most 20 problems listed", ct: csvType, body: head + strings.Repeat(";A;B;;;;;;\n", 25),
			want: []string{`row 21, column "Asiakasnro"`, "and more: 5 more problems are not listed"}, wantAbsent: []string{"row 22,"}},
		{name: "strict: an unmapped header", cfg: func(c *maestro.Config) { c.StrictColumns = true }, ct: csvType,
			body: "Asiakasnro;Etunimi;Saldo\n7;A;1\n", want: []string{`header, column "Saldo": is not mapped (strictColumns)`}},
		{name: "strict: an unnamed header", cfg: func(c *maestro.Config) { c.StrictColumns = true }, ct: csvType,
			body: "Asiakasnro;Etunimi;\n7;A;\n", want: []string{"header: column 3 has no name (strictColumns)"}},

		{name: "JSON with a nested object", ct: jsonType, body: `[{"Asiakasnro": "7", "Osoite": {"katu": "` + secretish + `"}}]`,
			want: []string{`[0], column "Osoite": is an object: the export is flat`}},
		{name: "JSON with an array", ct: jsonType, body: `{"customers": [{"Asiakasnro": "7"}, {"Asiakasnro": "8", "Puhelin": ["040 1"]}]}`,
			want: []string{`customers[1], column "Puhelin": is an array`}},
		{name: "JSON item not an object", ct: jsonType, body: `[{"Asiakasnro": "7"}, "` + secretish + `"]`,
			want: []string{"[1]: must be an object"}},
		{name: "JSON invalid UTF-8 in a value", ct: jsonType, body: "[{\"Asiakasnro\": \"7\", \"Etunimi\": \"Ma\xffija\"}]",
			want: []string{`[0], column "Etunimi": is not valid UTF-8`}},
		{name: "JSON invalid UTF-8 in a name", ct: jsonType, body: "[{\"Asiakasnro\": \"7\", \"Eti\xffmi\": \"Maija\"}]",
			want: []string{"[0]: a member's name is not valid UTF-8"}},
		{name: "JSON member twice", ct: jsonType, body: `[{"Asiakasnro": "7", "Etunimi": "A", "etunimi": "B"}]`,
			want: []string{`[0], column "etunimi": appears twice in the object`}},
		{name: "JSON missing id", ct: jsonType, body: `[{"Etunimi": "` + secretish + `"}]`,
			want: []string{`[0], column "Asiakasnro": is empty or missing`}},
		{name: "JSON empty item", ct: jsonType, body: `[{"Asiakasnro": "7"}, {}]`,
			want: []string{`[1], column "Asiakasnro": is empty or missing`}},
		{name: "JSON item of unmapped members only", ct: jsonType, body: `{"customers": [{"Nro": "7", "Nimi": "` + secretish + `"}]}`,
			want: []string{`customers[0], column "Asiakasnro": is empty or missing`}},
		{name: "JSON bad value", ct: jsonType, body: `[{"Asiakasnro": "7", "Luotto": "` + secretish + `"}]`,
			want: []string{`[0], column "Luotto": must be true or false`}},
		{name: "JSON unknown wrapper", ct: jsonType, body: `{"asiakkaat": []}`, want: []string{`unknown member "asiakkaat"`, `{"customers": [...]}`}},
		{name: "JSON wrapper not an array", ct: jsonType, body: `{"customers": {}}`, want: []string{"customers: must be an array"}},
		{name: "JSON wrapper with more", ct: jsonType, body: `{"customers": [], "count": 0}`, want: []string{"customers must be the object's only member"}},
		{name: "JSON scalar", ct: jsonType, body: `"` + secretish + `"`, want: []string{"the JSON must be an array of customers"}},
		{name: "JSON empty object", ct: jsonType, body: `{}`, want: []string{"the JSON must be an array of customers"}},
		{name: "JSON syntax", ct: jsonType, body: `[{"Asiakasnro": "7",}]`, want: []string{"the body is not JSON: invalid JSON at byte"}},
		{name: "JSON cut short", ct: jsonType, body: `[{"Asiakasnro": "7"}`, want: []string{"the body is not JSON"}},
		{name: "JSON data after", ct: jsonType, body: `[] []`, want: []string{"data after the end of the export"}},
		{name: "JSON strict: an unmapped member", cfg: func(c *maestro.Config) { c.StrictColumns = true }, ct: jsonType,
			body: `[{"Asiakasnro": "7", "Saldo": 1}]`, want: []string{`[0], column "Saldo": is not mapped (strictColumns)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConnector(t, func(c *maestro.Config) {
				c.Columns = map[string]string{
					"Etunimi": "firstName", "Sukunimi": "lastName", "Luotto": "creditAllowed", "Puhelin": "phoneNumber:1",
					"Katuosoite": "address:1:streetAddress1", "Postinumero": "address:1:postalCode", "Postitoimipaikka": "address:1:city",
				}
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			drafts, err := c.Parse(contentType(tc.ct), []byte(tc.body))
			if err == nil {
				t.Fatalf("parsed: %+v", drafts)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
			for _, w := range append(tc.wantAbsent, secretish, "ehkä", "eilen") {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nsays %q", err, w)
				}
			}
		})
	}
}

// Every row's problems are found, whatever the file's size, and the
// rejection stays short.
func TestParseRefusesBounded(t *testing.T) {
	c := newConnector(t, nil)
	var b strings.Builder
	b.WriteString("Asiakasnro;Luotto\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "%d;ehkä\n", i)
	}
	_, err := c.Parse(contentType("text/csv"), []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "4980 more problems") || len(err.Error()) > 4000 {
		t.Fatalf("error of %d characters: %.300v", len(fmt.Sprint(err)), err)
	}
}
