package as2

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkSendSync measures one signed, encrypted message with a signed synchronous MDN between
// two Waybill stations on loopback (both sides' work: sign, encrypt, decrypt, verify, MDN).
func BenchmarkSendSync(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := setup(b, nil)
			payload := strings.Repeat("PO1*1*10*EA*9.99**BP*ITEM~\n", size/27+1)[:size]
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := range b.N {
				if _, err := p.sender.Send(context.Background(), outbound("b"+strconv.Itoa(i), payload)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
