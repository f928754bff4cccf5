package register

import (
	"hash/maphash"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"kirjuri/core/customer"
)

// A Footprint is a set of keys: the customers, keys and unique values a
// batch names or writes (PreparedBatch.Footprint), or the keys of the
// customers it wrote (BatchResult). Each key is kept as a 64-bit hash of
// its kind and value, and the set sorted, so that two footprints compare
// by one merge instead of a lookup of every key's string in a map. Two
// different keys with the same hash (about one pair in 10^10 among a
// million keys) make two batches seem to touch each other: they are then
// written one after the other, which is always right, only slower.
type Footprint []uint64

// Shares tells whether f and g hold a key in common.
func (f Footprint) Shares(g Footprint) bool {
	for i, j := 0, 0; i < len(f) && j < len(g); {
		switch {
		case f[i] < g[j]:
			i++
		case f[i] > g[j]:
			j++
		default:
			return true
		}
	}
	return false
}

// footprintOf sorts keys and drops the repeated ones; never nil.
func footprintOf(keys []uint64) Footprint {
	if keys == nil {
		return Footprint{}
	}
	slices.Sort(keys)
	return Footprint(slices.Compact(keys))
}

// footKind is what a key of a footprint is: its hash has a seed of its own.
type footKind int

const (
	footNumber footKind = iota
	footEmail
	footID
	footExternalID
	footNetvisorID
	footSSN
	footCard
	footLink
	footGroup
	footKinds
)

// footSeeds are the kinds' seeds, made when the process starts: footprints
// are compared within one process only.
var footSeeds = func() (s [footKinds]maphash.Seed) {
	for i := range s {
		s[i] = maphash.MakeSeed()
	}
	return s
}()

// footKey is the key of a value of a kind.
func footKey(k footKind, value string) uint64 { return maphash.String(footSeeds[k], value) }

// numberKey is the key of a customer number: footKey of its digits.
func numberKey(n int64) uint64 {
	var b [20]byte
	return maphash.Bytes(footSeeds[footNumber], strconv.AppendInt(b[:0], n, 10))
}

// emailKeyOf is the key of an email as rows name customers by it (lower
// case: customer.UniqueEmail).
func emailKeyOf(lower string) uint64 { return footKey(footEmail, lower) }

// idKey is the key of a customer's id.
func idKey(id uuid.UUID) uint64 { return maphash.Comparable(footSeeds[footID], id) }

// footKindOf is the kind of each field of customer.UniqueValues in a
// footprint (the id is the customer's own, named by the rows that reach
// it: not a value another batch could take).
var footKindOf = map[string]footKind{
	"number": footNumber, "email": footEmail, "externalId": footExternalID, "netvisorId": footNetvisorID,
	"ssn": footSSN, "customerCards": footCard, "externalSystems": footLink,
}

// heldKeys calls fn with the key of each value c holds that no other
// customer may have (the number and email as numberKey and emailKeyOf make
// them), read without copying the customer (Customer.UniqueValues).
func heldKeys(c *customer.Customer, fn func(kind footKind, key uint64)) {
	for _, u := range c.UniqueValues() {
		if k, ok := footKindOf[u.Field]; ok {
			fn(k, footKey(k, u.Value))
		}
	}
}

// customerKeys are the keys a row can name a customer by: its number and
// its email, ignoring case (as heldKeys makes them, without the rest); 0
// for no email.
func customerKeys(c *customer.Customer) [2]uint64 {
	k := [2]uint64{numberKey(c.Number())}
	if e := c.UniqueEmail(); e != "" {
		k[1] = emailKeyOf(e)
	}
	return k
}
