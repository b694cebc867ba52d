/* Item 11 of issue 10: instructions the decoder refuses are kept as opaque
 * instructions, written back byte for byte, and left to the kernel to judge.
 *
 * `bad_reg` holds `r0 = r15` (source register 15 does not exist); `far_jump`
 * holds `goto +8`, which leaves its function. Both are raw words (the
 * assembler would refuse them); the verifier refuses both programs. `good`
 * loads and returns 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MOV_R0_R15 ".quad 0xf0bf"
#define GOTO_PLUS_8 ".quad 0x80005"
#else
#define MOV_R0_R15 ".quad 0xbf0f000000000000"
#define GOTO_PLUS_8 ".quad 0x0500000800000000"
#endif

SEC("socket")
int bad_reg(struct __sk_buff *skb)
{
	asm volatile(MOV_R0_R15 ::: "r0");
	return 0;
}

SEC("socket")
int far_jump(struct __sk_buff *skb)
{
	asm volatile(GOTO_PLUS_8);
	return 0;
}

SEC("socket")
int good(struct __sk_buff *skb)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
