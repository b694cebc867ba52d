# Every instruction llvm-objdump-19 decodes faithfully without --mattr, for the golden
# disassembly test. Assembled by regen.sh for bpfel and bpfeb with clang-19 -mcpu=v4.
# The `.byte` lines are little-endian encodings, so they only appear in the bpfel object.
	.text
	.globl f
f:
	r0 = 1
	r0 += r1
	r0 += 1
	r0 += -8
	r0 -= r1
	r0 *= 3
	r0 /= r1
	r0 /= 2
	r0 s/= r1
	r0 s/= 3
	r0 %= r1
	r0 s%= r1
	r0 s%= -5
	r0 |= r1
	r0 &= 255
	r0 <<= r1
	r0 <<= 3
	r0 >>= 3
	r0 s>>= 3
	r0 s>>= r2
	r0 ^= r3
	r0 = r1
	r0 = -r0
	r0 = (s8)r1
	r0 = (s16)r1
	r0 = (s32)r1
	w0 = 1
	w0 += w1
	w0 += -1
	w0 s/= w1
	w0 s%= 7
	w0 = w1
	w0 = -w0
	w0 = (s8)w1
	w0 = (s16)w1
	w0 s>>= w1
	w0 = 0xffffffff
	r0 = 0x7fffffff
	r0 = -1
	r1 = be16 r1
	r1 = be32 r1
	r1 = be64 r1
	r1 = le16 r1
	r1 = le32 r1
	r1 = le64 r1
	r1 = bswap16 r1
	r1 = bswap32 r1
	r1 = bswap64 r1
	r1 = 0x123456789abcdef0 ll
	r1 = -1 ll
	r0 = *(u8 *)skb[1]
	r0 = *(u16 *)skb[2]
	r0 = *(u32 *)skb[r3]
	r2 = *(u8 *)(r1 + 4)
	r2 = *(u16 *)(r1 - 4)
	r2 = *(u32 *)(r1 + 0)
	r2 = *(u64 *)(r10 - 8)
	r2 = *(s8 *)(r1 + 4)
	r2 = *(s16 *)(r1 + 4)
	r2 = *(s32 *)(r1 + 4)
	w2 = *(u32 *)(r1 + 4)
	w2 = *(u8 *)(r1 + 4)
	*(u8 *)(r10 - 8) = r1
	*(u32 *)(r10 - 8) = w1
	*(u64 *)(r10 - 8) = r1
	*(u8 *)(r10 - 8) = 5
	*(u16 *)(r10 - 8) = -5
	*(u64 *)(r10 - 8) = 5
	lock *(u64 *)(r1 + 0) += r2
	lock *(u32 *)(r1 + 0) += w2
	lock *(u64 *)(r1 + 8) |= r2
	lock *(u64 *)(r1 + 8) &= r2
	lock *(u64 *)(r1 + 8) ^= r2
	r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
	r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)
	r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)
	r2 = atomic_fetch_xor((u64 *)(r1 + 0), r2)
	r2 = xchg_64(r1 + 0, r2)
	r0 = cmpxchg_64(r1 + 0, r0, r2)
	goto +1
	gotol +1
	if r1 == 0 goto +5
	if r1 != r2 goto -5
	if r1 > 3 goto +0
	if r1 >= r2 goto +0
	if r1 < 3 goto +0
	if r1 <= r2 goto +0
	if r1 s> 3 goto +0
	if r1 s>= r2 goto +0
	if r1 s< -3 goto +0
	if r1 s<= r2 goto +0
	if r1 & 3 goto +0
	if r1 & r2 goto +0
	if w1 == 0 goto +5
	if w1 != w2 goto -5
	if w1 s< -3 goto +0
	if w1 & w2 goto +0
	call 1
	call -1
	callx r2
	may_goto +3
	exit

	.section xdp,"ax",@progbits
	.globl g
g:
	r1 = addr_space_cast(r2, 0, 1)
	r1 = addr_space_cast(r2, 1, 0)
	r2 = 0x7fffffffffffffff ll
	r3 = -9223372036854775808 ll
	r0 = *(u8 *)skb[-1048576]
	*(u16 *)(r10 - 32768) = r1
	r1 = *(u64 *)(r2 + 32767)
	if r1 s> -2147483648 goto -32768
	call 0x7fffffff
	goto -1
	exit
	.globl h
h:
	r0 = 0
	exit
