package excel

import (
	"encoding/binary"
	"io"
	"unicode/utf16"
)

// oleError tells an old .xls from a password-protected .xlsx: both are OLE2
// compound files, and an encrypted Office Open XML package is one whose
// directory holds the streams EncryptionInfo and EncryptedPackage
// ([MS-OFFCRYPTO] 2.3.4.1). The directory is walked with a few bounded
// reads; a file too damaged to walk is called an old .xls.
func oleError(ra io.ReaderAt, size int64) error {
	for _, name := range cfbNames(ra, size) {
		if name == "EncryptionInfo" || name == "EncryptedPackage" {
			return &FileError{Kind: ErrEncrypted}
		}
	}
	return &FileError{Kind: ErrLegacyXLS}
}

const (
	cfbMaxRegSect = 0xFFFFFFFA // larger values mark free or special sectors
	cfbMaxSectors = 4096       // of the directory chain; real files need a few
)

// cfbNames returns the names in a compound file's directory, as far as it
// can be read ([MS-CFB] 2.2, 2.6).
func cfbNames(ra io.ReaderAt, size int64) []string {
	var hdr [512]byte
	if _, err := ra.ReadAt(hdr[:], 0); err != nil {
		return nil
	}
	shift := binary.LittleEndian.Uint16(hdr[0x1E:])
	if shift != 9 && shift != 12 {
		return nil
	}
	secSize := int64(1) << shift
	perSector := uint32(secSize / 4)
	sectorOff := func(n uint32) int64 { return (int64(n) + 1) * secSize }

	// The sectors of the FAT: 109 in the header, the rest in the DIFAT chain.
	var fat []uint32
	numFAT := binary.LittleEndian.Uint32(hdr[0x2C:])
	for i := 0; i < 109 && uint32(len(fat)) < numFAT; i++ {
		fat = append(fat, binary.LittleEndian.Uint32(hdr[0x4C+4*i:]))
	}
	next := binary.LittleEndian.Uint32(hdr[0x44:])
	buf := make([]byte, secSize)
	for hops := 0; next <= cfbMaxRegSect && uint32(len(fat)) < numFAT && hops < cfbMaxSectors; hops++ {
		if _, err := ra.ReadAt(buf, sectorOff(next)); err != nil {
			break
		}
		for i := uint32(0); i < perSector-1 && uint32(len(fat)) < numFAT; i++ {
			fat = append(fat, binary.LittleEndian.Uint32(buf[4*i:]))
		}
		next = binary.LittleEndian.Uint32(buf[4*(perSector-1):])
	}
	nextSector := func(n uint32) (uint32, bool) {
		idx := n / perSector
		if idx >= uint32(len(fat)) {
			return 0, false
		}
		var b [4]byte
		if _, err := ra.ReadAt(b[:], sectorOff(fat[idx])+4*int64(n%perSector)); err != nil {
			return 0, false
		}
		return binary.LittleEndian.Uint32(b[:]), true
	}

	var names []string
	sec := binary.LittleEndian.Uint32(hdr[0x30:])
	for hops := 0; sec <= cfbMaxRegSect && hops < cfbMaxSectors; hops++ {
		if sectorOff(sec)+secSize > size {
			break
		}
		if _, err := ra.ReadAt(buf, sectorOff(sec)); err != nil {
			break
		}
		for e := int64(0); e+128 <= secSize; e += 128 {
			entry := buf[e : e+128]
			n := int(binary.LittleEndian.Uint16(entry[0x40:]))
			if n < 2 || n > 64 || entry[0x42] == 0 {
				continue
			}
			u := make([]uint16, (n-2)/2)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(entry[2*i:])
			}
			names = append(names, string(utf16.Decode(u)))
		}
		var ok bool
		if sec, ok = nextSector(sec); !ok {
			break
		}
	}
	return names
}
