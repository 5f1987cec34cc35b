#include "textflag.h"

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): AVX2+FMA float32 element-wise kernels, 8 lanes a step;
// n is a positive multiple of 8 (the Go callers do the tail). Constants are stored 8 times (one ymm each).

DATA erfc<>+0(SB)/4, $0xc0800000
DATA erfc<>+4(SB)/4, $0xc0800000
DATA erfc<>+8(SB)/4, $0xc0800000
DATA erfc<>+12(SB)/4, $0xc0800000
DATA erfc<>+16(SB)/4, $0xc0800000
DATA erfc<>+20(SB)/4, $0xc0800000
DATA erfc<>+24(SB)/4, $0xc0800000
DATA erfc<>+28(SB)/4, $0xc0800000
DATA erfc<>+32(SB)/4, $0x40800000
DATA erfc<>+36(SB)/4, $0x40800000
DATA erfc<>+40(SB)/4, $0x40800000
DATA erfc<>+44(SB)/4, $0x40800000
DATA erfc<>+48(SB)/4, $0x40800000
DATA erfc<>+52(SB)/4, $0x40800000
DATA erfc<>+56(SB)/4, $0x40800000
DATA erfc<>+60(SB)/4, $0x40800000
DATA erfc<>+64(SB)/4, $0xaf95df0b
DATA erfc<>+68(SB)/4, $0xaf95df0b
DATA erfc<>+72(SB)/4, $0xaf95df0b
DATA erfc<>+76(SB)/4, $0xaf95df0b
DATA erfc<>+80(SB)/4, $0xaf95df0b
DATA erfc<>+84(SB)/4, $0xaf95df0b
DATA erfc<>+88(SB)/4, $0xaf95df0b
DATA erfc<>+92(SB)/4, $0xaf95df0b
DATA erfc<>+96(SB)/4, $0x32edffee
DATA erfc<>+100(SB)/4, $0x32edffee
DATA erfc<>+104(SB)/4, $0x32edffee
DATA erfc<>+108(SB)/4, $0x32edffee
DATA erfc<>+112(SB)/4, $0x32edffee
DATA erfc<>+116(SB)/4, $0x32edffee
DATA erfc<>+120(SB)/4, $0x32edffee
DATA erfc<>+124(SB)/4, $0x32edffee
DATA erfc<>+128(SB)/4, $0xb60cff51
DATA erfc<>+132(SB)/4, $0xb60cff51
DATA erfc<>+136(SB)/4, $0xb60cff51
DATA erfc<>+140(SB)/4, $0xb60cff51
DATA erfc<>+144(SB)/4, $0xb60cff51
DATA erfc<>+148(SB)/4, $0xb60cff51
DATA erfc<>+152(SB)/4, $0xb60cff51
DATA erfc<>+156(SB)/4, $0xb60cff51
DATA erfc<>+160(SB)/4, $0xb86ec2d2
DATA erfc<>+164(SB)/4, $0xb86ec2d2
DATA erfc<>+168(SB)/4, $0xb86ec2d2
DATA erfc<>+172(SB)/4, $0xb86ec2d2
DATA erfc<>+176(SB)/4, $0xb86ec2d2
DATA erfc<>+180(SB)/4, $0xb86ec2d2
DATA erfc<>+184(SB)/4, $0xb86ec2d2
DATA erfc<>+188(SB)/4, $0xb86ec2d2
DATA erfc<>+192(SB)/4, $0xba40ac63
DATA erfc<>+196(SB)/4, $0xba40ac63
DATA erfc<>+200(SB)/4, $0xba40ac63
DATA erfc<>+204(SB)/4, $0xba40ac63
DATA erfc<>+208(SB)/4, $0xba40ac63
DATA erfc<>+212(SB)/4, $0xba40ac63
DATA erfc<>+216(SB)/4, $0xba40ac63
DATA erfc<>+220(SB)/4, $0xba40ac63
DATA erfc<>+224(SB)/4, $0xbb41a1f6
DATA erfc<>+228(SB)/4, $0xbb41a1f6
DATA erfc<>+232(SB)/4, $0xbb41a1f6
DATA erfc<>+236(SB)/4, $0xbb41a1f6
DATA erfc<>+240(SB)/4, $0xbb41a1f6
DATA erfc<>+244(SB)/4, $0xbb41a1f6
DATA erfc<>+248(SB)/4, $0xbb41a1f6
DATA erfc<>+252(SB)/4, $0xbb41a1f6
DATA erfc<>+256(SB)/4, $0xbc83dbd4
DATA erfc<>+260(SB)/4, $0xbc83dbd4
DATA erfc<>+264(SB)/4, $0xbc83dbd4
DATA erfc<>+268(SB)/4, $0xbc83dbd4
DATA erfc<>+272(SB)/4, $0xbc83dbd4
DATA erfc<>+276(SB)/4, $0xbc83dbd4
DATA erfc<>+280(SB)/4, $0xbc83dbd4
DATA erfc<>+284(SB)/4, $0xbc83dbd4
DATA erfc<>+288(SB)/4, $0xb77460cd
DATA erfc<>+292(SB)/4, $0xb77460cd
DATA erfc<>+296(SB)/4, $0xb77460cd
DATA erfc<>+300(SB)/4, $0xb77460cd
DATA erfc<>+304(SB)/4, $0xb77460cd
DATA erfc<>+308(SB)/4, $0xb77460cd
DATA erfc<>+312(SB)/4, $0xb77460cd
DATA erfc<>+316(SB)/4, $0xb77460cd
DATA erfc<>+320(SB)/4, $0xb95fbd29
DATA erfc<>+324(SB)/4, $0xb95fbd29
DATA erfc<>+328(SB)/4, $0xb95fbd29
DATA erfc<>+332(SB)/4, $0xb95fbd29
DATA erfc<>+336(SB)/4, $0xb95fbd29
DATA erfc<>+340(SB)/4, $0xb95fbd29
DATA erfc<>+344(SB)/4, $0xb95fbd29
DATA erfc<>+348(SB)/4, $0xb95fbd29
DATA erfc<>+352(SB)/4, $0xbadc924e
DATA erfc<>+356(SB)/4, $0xbadc924e
DATA erfc<>+360(SB)/4, $0xbadc924e
DATA erfc<>+364(SB)/4, $0xbadc924e
DATA erfc<>+368(SB)/4, $0xbadc924e
DATA erfc<>+372(SB)/4, $0xbadc924e
DATA erfc<>+376(SB)/4, $0xbadc924e
DATA erfc<>+380(SB)/4, $0xbadc924e
DATA erfc<>+384(SB)/4, $0xbbf19bf8
DATA erfc<>+388(SB)/4, $0xbbf19bf8
DATA erfc<>+392(SB)/4, $0xbbf19bf8
DATA erfc<>+396(SB)/4, $0xbbf19bf8
DATA erfc<>+400(SB)/4, $0xbbf19bf8
DATA erfc<>+404(SB)/4, $0xbbf19bf8
DATA erfc<>+408(SB)/4, $0xbbf19bf8
DATA erfc<>+412(SB)/4, $0xbbf19bf8
DATA erfc<>+416(SB)/4, $0xbc69b6a7
DATA erfc<>+420(SB)/4, $0xbc69b6a7
DATA erfc<>+424(SB)/4, $0xbc69b6a7
DATA erfc<>+428(SB)/4, $0xbc69b6a7
DATA erfc<>+432(SB)/4, $0xbc69b6a7
DATA erfc<>+436(SB)/4, $0xbc69b6a7
DATA erfc<>+440(SB)/4, $0xbc69b6a7
DATA erfc<>+444(SB)/4, $0xbc69b6a7
GLOBL erfc<>(SB), RODATA|NOPTR, $448

DATA expc<>+0(SB)/4, $0xc2aeac4f
DATA expc<>+4(SB)/4, $0xc2aeac4f
DATA expc<>+8(SB)/4, $0xc2aeac4f
DATA expc<>+12(SB)/4, $0xc2aeac4f
DATA expc<>+16(SB)/4, $0xc2aeac4f
DATA expc<>+20(SB)/4, $0xc2aeac4f
DATA expc<>+24(SB)/4, $0xc2aeac4f
DATA expc<>+28(SB)/4, $0xc2aeac4f
DATA expc<>+32(SB)/4, $0x42b0bd71
DATA expc<>+36(SB)/4, $0x42b0bd71
DATA expc<>+40(SB)/4, $0x42b0bd71
DATA expc<>+44(SB)/4, $0x42b0bd71
DATA expc<>+48(SB)/4, $0x42b0bd71
DATA expc<>+52(SB)/4, $0x42b0bd71
DATA expc<>+56(SB)/4, $0x42b0bd71
DATA expc<>+60(SB)/4, $0x42b0bd71
DATA expc<>+64(SB)/4, $0x3fb8aa3b
DATA expc<>+68(SB)/4, $0x3fb8aa3b
DATA expc<>+72(SB)/4, $0x3fb8aa3b
DATA expc<>+76(SB)/4, $0x3fb8aa3b
DATA expc<>+80(SB)/4, $0x3fb8aa3b
DATA expc<>+84(SB)/4, $0x3fb8aa3b
DATA expc<>+88(SB)/4, $0x3fb8aa3b
DATA expc<>+92(SB)/4, $0x3fb8aa3b
DATA expc<>+96(SB)/4, $0x3f317200
DATA expc<>+100(SB)/4, $0x3f317200
DATA expc<>+104(SB)/4, $0x3f317200
DATA expc<>+108(SB)/4, $0x3f317200
DATA expc<>+112(SB)/4, $0x3f317200
DATA expc<>+116(SB)/4, $0x3f317200
DATA expc<>+120(SB)/4, $0x3f317200
DATA expc<>+124(SB)/4, $0x3f317200
DATA expc<>+128(SB)/4, $0x35bfbe8e
DATA expc<>+132(SB)/4, $0x35bfbe8e
DATA expc<>+136(SB)/4, $0x35bfbe8e
DATA expc<>+140(SB)/4, $0x35bfbe8e
DATA expc<>+144(SB)/4, $0x35bfbe8e
DATA expc<>+148(SB)/4, $0x35bfbe8e
DATA expc<>+152(SB)/4, $0x35bfbe8e
DATA expc<>+156(SB)/4, $0x35bfbe8e
DATA expc<>+160(SB)/4, $0x3ab60b61
DATA expc<>+164(SB)/4, $0x3ab60b61
DATA expc<>+168(SB)/4, $0x3ab60b61
DATA expc<>+172(SB)/4, $0x3ab60b61
DATA expc<>+176(SB)/4, $0x3ab60b61
DATA expc<>+180(SB)/4, $0x3ab60b61
DATA expc<>+184(SB)/4, $0x3ab60b61
DATA expc<>+188(SB)/4, $0x3ab60b61
DATA expc<>+192(SB)/4, $0x3c088889
DATA expc<>+196(SB)/4, $0x3c088889
DATA expc<>+200(SB)/4, $0x3c088889
DATA expc<>+204(SB)/4, $0x3c088889
DATA expc<>+208(SB)/4, $0x3c088889
DATA expc<>+212(SB)/4, $0x3c088889
DATA expc<>+216(SB)/4, $0x3c088889
DATA expc<>+220(SB)/4, $0x3c088889
DATA expc<>+224(SB)/4, $0x3d2aaaab
DATA expc<>+228(SB)/4, $0x3d2aaaab
DATA expc<>+232(SB)/4, $0x3d2aaaab
DATA expc<>+236(SB)/4, $0x3d2aaaab
DATA expc<>+240(SB)/4, $0x3d2aaaab
DATA expc<>+244(SB)/4, $0x3d2aaaab
DATA expc<>+248(SB)/4, $0x3d2aaaab
DATA expc<>+252(SB)/4, $0x3d2aaaab
DATA expc<>+256(SB)/4, $0x3e2aaaab
DATA expc<>+260(SB)/4, $0x3e2aaaab
DATA expc<>+264(SB)/4, $0x3e2aaaab
DATA expc<>+268(SB)/4, $0x3e2aaaab
DATA expc<>+272(SB)/4, $0x3e2aaaab
DATA expc<>+276(SB)/4, $0x3e2aaaab
DATA expc<>+280(SB)/4, $0x3e2aaaab
DATA expc<>+284(SB)/4, $0x3e2aaaab
DATA expc<>+288(SB)/4, $0x3f000000
DATA expc<>+292(SB)/4, $0x3f000000
DATA expc<>+296(SB)/4, $0x3f000000
DATA expc<>+300(SB)/4, $0x3f000000
DATA expc<>+304(SB)/4, $0x3f000000
DATA expc<>+308(SB)/4, $0x3f000000
DATA expc<>+312(SB)/4, $0x3f000000
DATA expc<>+316(SB)/4, $0x3f000000
DATA expc<>+320(SB)/4, $0x3f800000
DATA expc<>+324(SB)/4, $0x3f800000
DATA expc<>+328(SB)/4, $0x3f800000
DATA expc<>+332(SB)/4, $0x3f800000
DATA expc<>+336(SB)/4, $0x3f800000
DATA expc<>+340(SB)/4, $0x3f800000
DATA expc<>+344(SB)/4, $0x3f800000
DATA expc<>+348(SB)/4, $0x3f800000
DATA expc<>+352(SB)/4, $0x3f800000
DATA expc<>+356(SB)/4, $0x3f800000
DATA expc<>+360(SB)/4, $0x3f800000
DATA expc<>+364(SB)/4, $0x3f800000
DATA expc<>+368(SB)/4, $0x3f800000
DATA expc<>+372(SB)/4, $0x3f800000
DATA expc<>+376(SB)/4, $0x3f800000
DATA expc<>+380(SB)/4, $0x3f800000
GLOBL expc<>(SB), RODATA|NOPTR, $384

DATA expbias<>+0(SB)/4, $127
DATA expbias<>+4(SB)/4, $127
DATA expbias<>+8(SB)/4, $127
DATA expbias<>+12(SB)/4, $127
DATA expbias<>+16(SB)/4, $127
DATA expbias<>+20(SB)/4, $127
DATA expbias<>+24(SB)/4, $127
DATA expbias<>+28(SB)/4, $127
GLOBL expbias<>(SB), RODATA|NOPTR, $32

// func erfF32AVX2(in, out *float32, n int)
TEXT ·erfF32AVX2(SB), NOSPLIT, $0-24
	MOVQ in+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	VMOVUPS erfc<>+0(SB), Y14
	VMOVUPS erfc<>+32(SB), Y15
erfloop:
	VMOVUPS (SI), Y0
	VMAXPS Y0, Y14, Y0
	VMINPS Y0, Y15, Y0
	VMULPS Y0, Y0, Y1
	VMOVUPS erfc<>+64(SB), Y2
	VFMADD213PS erfc<>+96(SB), Y1, Y2
	VFMADD213PS erfc<>+128(SB), Y1, Y2
	VFMADD213PS erfc<>+160(SB), Y1, Y2
	VFMADD213PS erfc<>+192(SB), Y1, Y2
	VFMADD213PS erfc<>+224(SB), Y1, Y2
	VFMADD213PS erfc<>+256(SB), Y1, Y2
	VMULPS Y0, Y2, Y2
	VMOVUPS erfc<>+288(SB), Y3
	VFMADD213PS erfc<>+320(SB), Y1, Y3
	VFMADD213PS erfc<>+352(SB), Y1, Y3
	VFMADD213PS erfc<>+384(SB), Y1, Y3
	VFMADD213PS erfc<>+416(SB), Y1, Y3
	VDIVPS Y3, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ erfloop
	VZEROUPPER
	RET

// func expF32AVX2(in, out *float32, n int) (bad int)
TEXT ·expF32AVX2(SB), NOSPLIT, $0-32
	MOVQ in+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	VMOVUPS expc<>+0(SB), Y14
	VMOVUPS expc<>+32(SB), Y15
	VPCMPEQD Y13, Y13, Y13
exploop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1d, Y14, Y0, Y4
	VCMPPS $0x12, Y15, Y0, Y5
	VANDPS Y5, Y4, Y4
	VANDPS Y4, Y13, Y13
	VMAXPS Y0, Y14, Y0
	VMINPS Y0, Y15, Y0
	VMULPS expc<>+64(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VMOVAPS Y0, Y2
	VFNMADD231PS expc<>+96(SB), Y1, Y2
	VFNMADD231PS expc<>+128(SB), Y1, Y2
	VMOVUPS expc<>+160(SB), Y3
	VFMADD213PS expc<>+192(SB), Y2, Y3
	VFMADD213PS expc<>+224(SB), Y2, Y3
	VFMADD213PS expc<>+256(SB), Y2, Y3
	VFMADD213PS expc<>+288(SB), Y2, Y3
	VFMADD213PS expc<>+320(SB), Y2, Y3
	VFMADD213PS expc<>+352(SB), Y2, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD expbias<>(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ exploop
	VMOVMSKPS Y13, AX
	XORQ $0xff, AX
	MOVQ AX, bad+24(FP)
	VZEROUPPER
	RET

// func addF32AVX2(a, b, out *float32, n int)
TEXT ·addF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), BX
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
addloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ addloop
	VZEROUPPER
	RET

// func addScalarF32AVX2(a *float32, s float32, out *float32, n int)
TEXT ·addScalarF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	VBROADCASTSS s+8(FP), Y1
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
addsloop:
	VMOVUPS (SI), Y0
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ addsloop
	VZEROUPPER
	RET

// func subF32AVX2(a, b, out *float32, n int)
TEXT ·subF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), BX
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
subloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y1
	VSUBPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ subloop
	VZEROUPPER
	RET

// func subScalarF32AVX2(a *float32, s float32, out *float32, n int)
TEXT ·subScalarF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	VBROADCASTSS s+8(FP), Y1
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
subsloop:
	VMOVUPS (SI), Y0
	VSUBPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ subsloop
	VZEROUPPER
	RET

// func mulF32AVX2(a, b, out *float32, n int)
TEXT ·mulF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), BX
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
mulloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y1
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ mulloop
	VZEROUPPER
	RET

// func mulScalarF32AVX2(a *float32, s float32, out *float32, n int)
TEXT ·mulScalarF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	VBROADCASTSS s+8(FP), Y1
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
mulsloop:
	VMOVUPS (SI), Y0
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ mulsloop
	VZEROUPPER
	RET

// func divF32AVX2(a, b, out *float32, n int)
TEXT ·divF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), BX
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
divloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y1
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ divloop
	VZEROUPPER
	RET

// func divScalarF32AVX2(a *float32, s float32, out *float32, n int)
TEXT ·divScalarF32AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	VBROADCASTSS s+8(FP), Y1
	MOVQ out+16(FP), DI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
divsloop:
	VMOVUPS (SI), Y0
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ divsloop
	VZEROUPPER
	RET
