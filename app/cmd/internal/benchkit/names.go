package benchkit

import "strings"

// What the benchmarks' generated customers are made of: Finnish names,
// streets, postal codes and mobile prefixes, so that the data is shaped
// like the register's (ä and ö in names, local phone forms). Each
// generator picks from them with Mix, so that a customer is a pure
// function of its number. Change a list and the generated data changes:
// bump the generators' versions (kirjuri-bench's dataVersion,
// kirjuri-bench-excel's genVersion) so that no old data is reused.
var (
	FirstNames = strings.Fields("Matti Maija Juha Anna Mikko Liisa Timo Tiina Jari Sari Pekka Aino Antti Eeva Ville Helmi Jukka Kaisa Kari Leena Markku Minna Sami Outi Janne Päivi Heikki Ritva Ari Sanna Eetu Emilia Onni Venla Lauri Iida Elias Aada Väinö Siiri")
	LastNames  = strings.Fields("Virtanen Korhonen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen Lehtonen Lehtinen Saarinen Salminen Heinonen Niemi Heikkilä Kinnunen Salonen Turunen Salo Laitinen Tuominen Rantanen Karjalainen Jokinen Mattila Savolainen Lahtinen Ahonen Leppänen Hiltunen Kallio Miettinen Leinonen Pesonen Rissanen Lindholm Aaltonen Väisänen Manninen Hakala Laaksonen Lindroos Ojala Anttila Kettunen Hirvonen Harju Toivonen Vainio Hyvönen Seppälä Koivisto Sjöberg Kauppinen Äijälä Björklund Öhman Östman")
	Domains    = strings.Fields("gmail.com outlook.com hotmail.com kolumbus.fi luukku.com yahoo.com example.fi saunalahti.fi")
	Streets    = strings.Fields("Mannerheimintie Hämeenkatu Aleksanterinkatu Kauppakatu Rantatie Koulukatu Puistotie Asemakatu Kirkkokatu Satamakatu")
	Places     = []Place{
		{"00100", "Helsinki"}, {"02100", "Espoo"}, {"01300", "Vantaa"}, {"33100", "Tampere"}, {"20100", "Turku"},
		{"90100", "Oulu"}, {"40100", "Jyväskylä"}, {"15100", "Lahti"}, {"70100", "Kuopio"}, {"65100", "Vaasa"},
	}
	MobilePrefixes = []string{"40", "41", "44", "45", "46", "50"}
)

// Place is a postal code and its town.
type Place struct{ Code, City string }

// Mix is a fast, well-spread hash (splitmix64) of a number and a salt, for
// a generator's choices.
func Mix(n int64, salt uint64) uint64 {
	z := uint64(n)*0x9E3779B97F4A7C15 + salt*0xBF58476D1CE4E5B9
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
