// Package finnish validates and normalises Finnish identifiers: the personal
// identity code (henkilötunnus, HETU), the business ID (Y-tunnus), the
// Finnish VAT number, postal codes (Finland and Åland), ISO 3166-1 alpha-2
// country codes, and e-invoice addresses and intermediator (operator) IDs.
//
// Every function is pure: no I/O, no logging, no clock. Each Parse function
// returns the canonical form that should be stored, or an error whose text is
// human-readable, specific and independent of the input, so that it can be
// shown to a user or logged without leaking the value (a personal identity
// code is personal data). Error texts carry no field name; the caller adds it.
//
// The rules follow section C ("Finnish validation rules") of the project
// research notes (shared/research/domain.md), which cites:
//
// Personal identity code:
//   - Population information decree 128/2010, as explained at
//     http://www.kysy.fi/kysymys/sosiaaliturvatunnus
//   - Ministry of Finance decree of 8 July 2022 (new century signs from
//     1 Jan 2023): https://vm.fi/en/-/availability-of-sufficient-personal-identity-codes-to-be-ensured-using-new-intermediate-characters
//   - DVV, reform of the personal identity code:
//     https://dvv.fi/en/reform-of-personal-identity-code and https://dvv.fi/hetu-uudistus
//   - DVV fictitious test persons, republished at https://dimarchi.net/test/new-ssn/
//   - python-stdnum, stdnum/fi/hetu.py:
//     https://github.com/arthurdejong/python-stdnum/blob/master/stdnum/fi/hetu.py
//   - Finnish civil time for "born after today" (FinnishDate): UTC+2, with
//     summer time by Directive 2000/84/EC, checked against the tz
//     database's Europe/Helsinki
//
// Business ID and VAT number:
//   - https://fi.m.wikipedia.org/wiki/Y-tunnus
//   - https://optiva-publicweb.pages.dev/en/blog/ytj-guide-en
//   - Algorithm::CheckDigits M11_007:
//     https://manpages.ubuntu.com/manpages/lunar/man3/Algorithm::CheckDigits::M11_007.3pm.html
//   - python-stdnum, stdnum/fi/ytunnus.py and stdnum/fi/alv.py
//
// E-invoice addresses and intermediators:
//   - OVT code: https://apix.fi/ajankohtaista/ovt-tunnus/ and
//     https://www.invoicenavigator.eu/glossary/ovt-tunnus
//   - Netvisor customer import (0037AAAAAAAABBBBB):
//     https://support.netvisor.fi/en/support/solutions/articles/77000554181-import-customer-details-customer-nv
//   - Finnish IBAN: https://www.op.fi/privatkunder/dagliga/konton/iban-kontonummer
//     and ISO 13616 (mod-97)
//   - Operator list: TIEKE Verkkolaskuosoitteisto, https://verkkolaskuosoite.fi/client/index.html#/info;
//     the embedded table is seed data merged from OCA l10n-finland
//     (l10n_fi_edicode/data/res_partner_operator_einvoice.xml) and Sprintit's
//     Odoo add-on; production should sync it from TIEKE.
//
// Postal and country codes:
//   - https://en.wikipedia.org/wiki/Postal_codes_in_Finland
//   - Åland address metadata (zip 22\d{3}, prefix AX-):
//     https://cdn.jsdelivr.net/npm/i18napis-address-data@2018.12.0/dist/AX.json
//   - ISO 3166-1 alpha-2: the 249 assigned codes, as listed in the tz
//     database's iso3166.tab (ISO/TC 46 N1108, 2023-04-05) and Debian's
//     iso-codes iso_3166-1.json, which agree.
package finnish
