package cpace

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gtank/ristretto255"
)

// The vectors below are from draft-irtf-cfrg-cpace-21
// (https://github.com/cfrg/draft-irtf-cfrg-cpace, draft-irtf-cfrg-cpace.md
// at tag draft-irtf-cfrg-cpace-21). Appendix A gives the string utility
// vectors, appendix B.3 the CPACE-RISTR255-SHA512 ones; testdata/README.md
// says which JSON file holds which section.

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// loadVectors reads a JSON object of the draft from testdata, keeping
// values as raw JSON.
func loadVectors(t *testing.T, name string) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// hexField returns the bytes of the hex string field key of m.
func hexField(t *testing.T, m map[string]json.RawMessage, key string) []byte {
	t.Helper()
	raw, ok := m[key]
	if !ok {
		t.Fatalf("vector has no field %q", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("field %q: %v", key, err)
	}
	return unhex(t, s)
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// Appendix A.1.2.
func TestPrependLenVectors(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{`b""`, nil, "00"},
		{`b"1234"`, []byte("1234"), "0431323334"},
		{"bytes(range(127))", seq(127), "7f" + hex.EncodeToString(seq(127))},
		{"bytes(range(128))", seq(128), "8001" + hex.EncodeToString(seq(128))},
	} {
		got := prependLen(nil, tc.in)
		checkBytes(t, "prepend_len("+tc.name+")", got, unhex(t, tc.want))
		if n := lenPrependLen(tc.in); n != len(got) {
			t.Errorf("lenPrependLen(%s) = %d, want %d", tc.name, n, len(got))
		}
	}
	// Multi-byte LEB128 beyond the draft's vectors: 300 = 0xac 0x02.
	if got := prependLen(nil, make([]byte, 300))[:2]; !bytes.Equal(got, []byte{0xac, 0x02}) {
		t.Errorf("LEB128(300) = %x, want ac02", got)
	}
	if n := lenPrependLen(make([]byte, 1<<14)); n != 3+1<<14 {
		t.Errorf("lenPrependLen(2^14 bytes) = %d", n)
	}
}

// Appendix A.1.4.
func TestLvCatVector(t *testing.T) {
	got := lvCat([]byte("1234"), []byte("5"), []byte(""), []byte("678"))
	checkBytes(t, `lv_cat(b"1234",b"5",b"",b"678")`, got, unhex(t, "043132333401350003363738"))
}

// Appendix A.3.3.
func TestOrderedConcatenationVectors(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"\x00", "\x00\x00", false},
		{"\x01", "\x00\x00", true},
		{"\x00\x00", "\x00", true},
		{"\x00\x00", "\x01", false},
		{"\x00\x01", "\x01", false},
		{"ABCD", "BCD", false},
	} {
		if got := lexicographicallyLarger([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("lexiographically_larger(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	checkBytes(t, `o_cat(b"ABCD",b"BCD")`, oCat([]byte("ABCD"), []byte("BCD")), unhex(t, "6f6342434441424344"))
	checkBytes(t, `o_cat(b"BCD",b"ABCDE")`, oCat([]byte("BCD"), []byte("ABCDE")), unhex(t, "6f634243444142434445"))
}

// Appendix A.3.5 and A.3.7.
func TestTranscriptVectors(t *testing.T) {
	pa, pb := []byte("PartyA"), []byte("PartyB")
	checkBytes(t, "transcript_ir(123,PartyA,234,PartyB)",
		transcriptIR([]byte("123"), pa, []byte("234"), pb),
		unhex(t, "03313233065061727479410332333406506172747942"))
	checkBytes(t, "transcript_ir(3456,PartyA,2345,PartyB)",
		transcriptIR([]byte("3456"), pa, []byte("2345"), pb),
		unhex(t, "043334353606506172747941043233343506506172747942"))
	checkBytes(t, "transcript_oc(123,PartyA,234,PartyB)",
		transcriptOC([]byte("123"), pa, []byte("234"), pb),
		unhex(t, "6f6303323334065061727479420331323306506172747941"))
	checkBytes(t, "transcript_oc(3456,PartyA,2345,PartyB)",
		transcriptOC([]byte("3456"), pa, []byte("2345"), pb),
		unhex(t, "6f63043334353606506172747941043233343506506172747942"))
}

// Appendix B.3.1: generator string, its hash and the generator g.
func TestGeneratorVector(t *testing.T) {
	v := loadVectors(t, "b3_1_generator.json")
	prs, ci, sid := hexField(t, v, "PRS"), hexField(t, v, "CI"), hexField(t, v, "sid")
	checkBytes(t, "PRS", prs, []byte("Password"))
	checkBytes(t, "CI", ci, []byte("\x0bA_initiator\x0bB_responder"))
	checkBytes(t, "DSI", hexField(t, v, "DSI"), []byte(dsi))
	var blockSize, zpad int
	if err := json.Unmarshal(v["H.s_in_bytes"], &blockSize); err != nil || blockSize != hashBlockSize {
		t.Errorf("H.s_in_bytes = %d (%v), want %d", blockSize, err, hashBlockSize)
	}
	if err := json.Unmarshal(v["ZPAD length"], &zpad); err != nil {
		t.Fatal(err)
	}

	gs := generatorString([]byte(dsi), prs, ci, sid, hashBlockSize)
	checkBytes(t, "generator_string", gs, hexField(t, v, "generator_string(G.DSI,PRS,CI,sid,H.s_in_bytes)"))
	if want := lenPrependLen([]byte(dsi)) + lenPrependLen(prs) + lenPrependLen(make([]byte, zpad)) +
		lenPrependLen(ci) + lenPrependLen(sid); len(gs) != want {
		t.Errorf("generator_string is %d bytes; with ZPAD length %d it should be %d", len(gs), zpad, want)
	}
	h := sha512.Sum512(gs)
	checkBytes(t, "hash result", h[:], hexField(t, v, "hash result"))

	g := calculateGenerator(prs, ci, sid)
	checkBytes(t, "encoded generator g", g.Encode(nil), hexField(t, v, "encoded generator g"))
}

// Appendix B.3.2 to B.3.7: one whole run, in both settings, through the
// public API, with the draft's scalars ya and yb fed as the randomness.
func TestProtocolVectors(t *testing.T) {
	v := loadVectors(t, "b3_9_protocol.json")
	prs, ci, sid := hexField(t, v, "PRS"), hexField(t, v, "CI"), hexField(t, v, "sid")
	ya, yb := hexField(t, v, "ya"), hexField(t, v, "yb")
	ada, adb := hexField(t, v, "ADa"), hexField(t, v, "ADb")
	wantYa, wantYb, wantK := hexField(t, v, "Ya"), hexField(t, v, "Yb"), hexField(t, v, "K")
	checkBytes(t, "ADa", ada, []byte("ADa"))
	checkBytes(t, "ADb", adb, []byte("ADb"))

	// g, as in B.3.1.
	checkBytes(t, "g", calculateGenerator(prs, ci, sid).Encode(nil), hexField(t, v, "g"))

	// B.3.2, B.3.3: the draft's scalars are below 2^252, so sample_scalar
	// returns them unchanged.
	start := func(role Role, y, ad, want []byte) *State {
		t.Helper()
		s, msg, err := Start(role, prs, ci, sid, ad, bytes.NewReader(y))
		if err != nil {
			t.Fatal(err)
		}
		checkBytes(t, "scalar", s.y.Encode(nil), y)
		checkBytes(t, "message", msg, want)
		return s
	}

	// B.3.4: K computed on both sides.
	sa, sb := ristretto255.NewScalar(), ristretto255.NewScalar()
	if err := sa.Decode(ya); err != nil {
		t.Fatal(err)
	}
	if err := sb.Decode(yb); err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "scalar_mult_vfy(ya,Yb)", scalarMultVfy(sa, wantYb), wantK)
	checkBytes(t, "scalar_mult_vfy(yb,Ya)", scalarMultVfy(sb, wantYa), wantK)

	dsiISK := unhex(t, "435061636552697374726574746f3235355f49534b")
	checkBytes(t, "G.DSI_ISK", []byte(dsi+"_ISK"), dsiISK)

	// B.3.5: initiator/responder.
	tIR := unhex(t, `
		20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e
		ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa
		8232b5ebe63324e2d9e7433f725803414462`)
	inIR := unhex(t, `
		15435061636552697374726574746f3235355f49534b107e4b4791d6
		a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55
		a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7
		c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7
		e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f
		725803414462`)
	checkBytes(t, "transcript_ir(Ya,ADa,Yb,ADb)", transcriptIR(wantYa, ada, wantYb, adb), tIR)
	checkBytes(t, "lv_cat(DSI,sid,K)||transcript_ir", append(lvCat(dsiISK, sid, wantK), tIR...), inIR)
	wantIR := hexField(t, v, "ISK_IR")
	checkBytes(t, "ISK_IR from its input", deriveISK(sid, wantK, tIR), wantIR)

	a, b := start(Initiator, ya, ada, wantYa), start(Responder, yb, adb, wantYb)
	iskA, err := a.Finish(wantYb, adb)
	if err != nil {
		t.Fatal(err)
	}
	iskB, err := b.Finish(wantYa, ada)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "ISK_IR (initiator)", iskA, wantIR)
	checkBytes(t, "ISK_IR (responder)", iskB, wantIR)

	// B.3.6: parallel (symmetric) execution.
	tOC := unhex(t, `
		6f6320d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f
		8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b95528
		6dfa8232b5ebe63324e2d9e7433f725803414462`)
	inOC := unhex(t, `
		15435061636552697374726574746f3235355f49534b107e4b4791d6
		a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55
		a2f80ac19c333f917a05fc9887c8b40f6f6320d6bac480f2c386c394
		efc7c47adb9925dcd2630b64f240c50f8d0eec482b91570341446120
		3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7
		433f725803414462`)
	checkBytes(t, "transcript_oc(Ya,ADa,Yb,ADb)", transcriptOC(wantYa, ada, wantYb, adb), tOC)
	checkBytes(t, "transcript_oc(Yb,ADb,Ya,ADa)", transcriptOC(wantYb, adb, wantYa, ada), tOC)
	checkBytes(t, "lv_cat(DSI,sid,K)||transcript_oc", append(lvCat(dsiISK, sid, wantK), tOC...), inOC)
	wantSY := hexField(t, v, "ISK_SY")
	checkBytes(t, "ISK_SY from its input", deriveISK(sid, wantK, tOC), wantSY)

	a, b = start(Symmetric, ya, ada, wantYa), start(Symmetric, yb, adb, wantYb)
	iskA, err = a.Finish(wantYb, adb)
	if err != nil {
		t.Fatal(err)
	}
	iskB, err = b.Finish(wantYa, ada)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "ISK_SY (A)", iskA, wantSY)
	checkBytes(t, "ISK_SY (B)", iskB, wantSY)

	// B.3.7: the optional sid_output (section 10.6); the package does not
	// expose it, but it checks the transcripts once more.
	sidOut := func(tr []byte) []byte {
		h := sha512.Sum512(append([]byte("CPaceSidOutput"), tr...))
		return h[:]
	}
	checkBytes(t, "sid_output_ir", sidOut(tIR), hexField(t, v, "sid_output_ir"))
	checkBytes(t, "sid_output_oc", sidOut(tOC), hexField(t, v, "sid_output_oc"))
}

// Appendix B.3.10 and B.3.11: scalar_mult(_vfy) on a valid point, and the
// invalid encoding and identity that MUST make the protocol abort.
func TestScalarMultVfyVectors(t *testing.T) {
	v := loadVectors(t, "b3_11_scalar_mult_vfy.json")
	var valid map[string]json.RawMessage
	if err := json.Unmarshal(v["Valid"], &valid); err != nil {
		t.Fatal(err)
	}
	s := ristretto255.NewScalar()
	if err := s.Decode(hexField(t, valid, "s")); err != nil {
		t.Fatal(err)
	}
	x := hexField(t, valid, "X")
	p := ristretto255.NewElement()
	if err := p.Decode(x); err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "scalar_mult(s,decode(X))", scalarMult(s, p), hexField(t, valid, "G.scalar_mult(s,decode(X))"))
	checkBytes(t, "scalar_mult_vfy(s,X)", scalarMultVfy(s, x), hexField(t, valid, "G.scalar_mult_vfy(s,X)"))

	for _, key := range []string{"Invalid Y1", "Invalid Y2"} {
		y := hexField(t, v, key)
		checkBytes(t, "scalar_mult_vfy(s,"+key+")", scalarMultVfy(s, y), identity[:])
		// In a protocol run, in either role, the party must abort.
		for _, role := range []Role{Initiator, Responder, Symmetric} {
			st, _, err := Start(role, []byte("Password"), nil, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if isk, err := st.Finish(y, nil); !errors.Is(err, ErrInvalidPeerMessage) || isk != nil {
				t.Errorf("Finish(%s) as role %d = %x, %v; want ErrInvalidPeerMessage", key, role, isk, err)
			}
		}
	}
}

// run does one honest exchange and returns both ISKs.
func run(t *testing.T, roleA, roleB Role, prsA, prsB, ciA, ciB, sidA, sidB, adA, adB []byte) (iskA, iskB []byte) {
	t.Helper()
	a, ya, err := Start(roleA, prsA, ciA, sidA, adA, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, yb, err := Start(roleB, prsB, ciB, sidB, adB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ya) != MessageSize || len(yb) != MessageSize {
		t.Fatalf("message sizes %d, %d", len(ya), len(yb))
	}
	if iskA, err = a.Finish(yb, adB); err != nil {
		t.Fatal(err)
	}
	if iskB, err = b.Finish(ya, adA); err != nil {
		t.Fatal(err)
	}
	if len(iskA) != ISKSize || len(iskB) != ISKSize {
		t.Fatalf("ISK sizes %d, %d", len(iskA), len(iskB))
	}
	return iskA, iskB
}

func TestAgreement(t *testing.T) {
	prs, ci, sid := []byte("k3m9p-x7q2a-h4t0c-8wnzr"), []byte("ci"), make([]byte, 32)
	rand.Read(sid)
	for _, roles := range [][2]Role{{Initiator, Responder}, {Symmetric, Symmetric}} {
		a, b := run(t, roles[0], roles[1], prs, prs, ci, ci, sid, sid, []byte("A"), []byte("B"))
		if !bytes.Equal(a, b) {
			t.Errorf("roles %v: ISKs differ", roles)
		}
		// Empty optional inputs are allowed.
		a, b = run(t, roles[0], roles[1], prs, prs, nil, nil, nil, nil, nil, nil)
		if !bytes.Equal(a, b) {
			t.Errorf("roles %v, empty inputs: ISKs differ", roles)
		}
	}
	// A long PRS (more than a hash block, multi-byte length) works too.
	long := bytes.Repeat([]byte("x"), 300)
	if a, b := run(t, Initiator, Responder, long, long, ci, ci, sid, sid, nil, nil); !bytes.Equal(a, b) {
		t.Error("long PRS: ISKs differ")
	}
}

func TestMismatchGivesDifferentKeys(t *testing.T) {
	prs, ci, sid := []byte("k3m9p-x7q2a-h4t0c-8wnzr"), []byte("ci"), []byte("sid")
	other := func(b []byte) []byte { return append(append([]byte(nil), b...), '!') }
	ad := []byte("ad")
	for _, tc := range []struct {
		name                           string
		roleB                          Role
		prsB, ciB, sidB, adAseen, adBs []byte
	}{
		{"PRS", Responder, other(prs), ci, sid, ad, ad},
		{"CI", Responder, prs, other(ci), sid, ad, ad},
		{"sid", Responder, prs, ci, other(sid), ad, ad},
		{"same role", Initiator, prs, ci, sid, ad, ad},
		{"AD seen differently", Responder, prs, ci, sid, other(ad), ad},
	} {
		a, bs, err := Start(Initiator, prs, ci, sid, ad, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, ys, err := Start(tc.roleB, tc.prsB, tc.ciB, tc.sidB, tc.adBs, nil)
		if err != nil {
			t.Fatal(err)
		}
		iskA, errA := a.Finish(ys, tc.adBs)
		iskB, errB := b.Finish(bs, tc.adAseen)
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v, %v", tc.name, errA, errB)
		}
		if bytes.Equal(iskA, iskB) {
			t.Errorf("%s mismatch: ISKs agree", tc.name)
		}
	}
}

func TestInvalidMessages(t *testing.T) {
	// The order of the group is l; p = 2^255-19 is the field prime.
	p := unhex(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	g := ristretto255.NewElement().Base().Encode(nil)
	neg := append([]byte(nil), g...)
	neg[0] |= 1 // IS_NEGATIVE(s): odd encodings are invalid
	high := append([]byte(nil), g...)
	high[31] |= 0x80
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"nil", nil},
		{"short", g[:31]},
		{"long", append(append([]byte(nil), g...), 0)},
		{"identity", make([]byte, 32)},
		{"field prime (non-canonical zero)", p},
		{"negative", neg},
		{"top bit set", high},
		{"all ones", bytes.Repeat([]byte{0xff}, 32)},
	} {
		s, _, err := Start(Initiator, []byte("pw"), nil, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if isk, err := s.Finish(tc.msg, nil); !errors.Is(err, ErrInvalidPeerMessage) || isk != nil {
			t.Errorf("%s: Finish = %x, %v; want ErrInvalidPeerMessage", tc.name, isk, err)
		}
	}
	// The base point itself is a valid message.
	s, _, _ := Start(Initiator, []byte("pw"), nil, nil, nil, nil)
	if _, err := s.Finish(g, nil); err != nil {
		t.Errorf("Finish(base point) = %v", err)
	}
}

func TestStateIsSingleUse(t *testing.T) {
	a, ya, _ := Start(Initiator, []byte("pw"), nil, nil, nil, nil)
	b, yb, _ := Start(Responder, []byte("pw"), nil, nil, nil, nil)
	if _, err := b.Finish(ya, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(ya, nil); !errors.Is(err, ErrStateUsed) {
		t.Errorf("second Finish = %v, want ErrStateUsed", err)
	}
	// A failed Finish uses the state up too.
	if _, err := a.Finish(make([]byte, 32), nil); !errors.Is(err, ErrInvalidPeerMessage) {
		t.Fatal(err)
	}
	if _, err := a.Finish(yb, nil); !errors.Is(err, ErrStateUsed) {
		t.Errorf("Finish after a failed Finish = %v, want ErrStateUsed", err)
	}
	var nilState *State
	if _, err := nilState.Finish(yb, nil); !errors.Is(err, ErrStateUsed) {
		t.Errorf("nil State: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	for _, r := range []Role{0, Symmetric + 1, -1} {
		if _, _, err := Start(r, []byte("pw"), nil, nil, nil, nil); !errors.Is(err, ErrInvalidRole) {
			t.Errorf("Start(role %d) = %v, want ErrInvalidRole", r, err)
		}
	}
	if _, _, err := Start(Initiator, []byte("pw"), nil, nil, nil, bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("Start with 31 random bytes succeeded")
	}
}

// sample_scalar clears the bits above 252, so any 32 bytes give a
// canonical scalar below 2^252.
func TestSampleScalarMask(t *testing.T) {
	y, err := sampleScalar(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte{0xff}, 32)
	want[31] = 0x0f
	checkBytes(t, "sample_scalar(all ones)", y.Encode(nil), want)
}

// The inputs are copied: changing the caller's slices after Start does
// not change the key.
func TestStartCopiesInputs(t *testing.T) {
	sid, ad := []byte("sid"), []byte("ad")
	a, ya, _ := Start(Initiator, []byte("pw"), nil, sid, ad, nil)
	b, yb, _ := Start(Responder, []byte("pw"), nil, []byte("sid"), nil, nil)
	sid[0], ad[0] = 'X', 'X'
	iskA, errA := a.Finish(yb, nil)
	iskB, errB := b.Finish(ya, []byte("ad"))
	if errA != nil || errB != nil || !bytes.Equal(iskA, iskB) {
		t.Errorf("ISKs differ after the caller changed its slices: %v %v", errA, errB)
	}
}
