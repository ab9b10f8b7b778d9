/* SPDX-License-Identifier: BSD-2-Clause */
/* test_quic.c: QUIC Initial keys and packet protection against the RFC 9001
 * and RFC 9369 Appendix A vectors (both directions: sealing the published
 * plaintext must give the published packet, opening it must give the
 * published ClientHello / ServerHello), the frame walker on sealed packets,
 * every truncation and single-byte corruption of a published packet, and the
 * Initials of the bundled QUIC captures end to end: keys from the client's
 * DCID, CRYPTO frames reassembled by offset, hellos parsed by the TLS parser
 * and compared with pcaps/expected.tsv. */
#include <gcrypt.h>
#include <stdlib.h>

#include "kexwatch/quic.h"
#include "kexwatch/rd.h"
#include "kexwatch/tls.h"
#include "tap.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			if (n == cap) {
				printf("Bail out! hex vector larger than %zu bytes\n", cap);
				exit(1);
			}
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

static bool eq_hex(const uint8_t *got, size_t len, const char *want)
{
	uint8_t w[64];
	return unhex(want, w, sizeof(w)) == len && memcmp(got, w, len) == 0;
}

/* ---- published vectors ---- */

static const char dcid_hex[] = "8394c8f03e515708";

/* RFC 9001 A.2 / RFC 9369 A.2: the CRYPTO frame of the client Initial
 * (a 241-byte ClientHello for example.com); PADDING follows to 1162 bytes. */
static const char ch_frame_hex[] =
	"060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
	"04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
	"616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
	"04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
	"baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
	"0d0010000e0403050306030203080408050806002d00020101001c0002400100"
	"3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
	"75300901100f088394c8f03e51570806048000ffff";

static const char v1_client_header_hex[] = "c300000001088394c8f03e5157080000449e00000002";
static const char v2_client_header_hex[] = "d36b3343cf088394c8f03e5157080000449e00000002";

static const char v1_client_packet_hex[] =
	"c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
	"d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
	"1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
	"30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
	"457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
	"4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
	"485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
	"7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
	"9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
	"68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
	"c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
	"291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
	"25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
	"ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
	"e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
	"203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
	"cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
	"a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
	"90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
	"40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
	"6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
	"be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
	"54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
	"f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
	"056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
	"e221af44860018ab0856972e194cd934";

static const char v2_client_packet_hex[] =
	"d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
	"dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
	"9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
	"250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
	"12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
	"cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
	"18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
	"12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
	"d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
	"6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
	"bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
	"636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
	"ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
	"16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
	"4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
	"fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
	"8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
	"14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
	"9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
	"abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
	"80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
	"848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
	"d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
	"c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
	"7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
	"f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
	"10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
	"3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
	"06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
	"8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
	"34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
	"e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
	"5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
	"8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
	"d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
	"6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
	"9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
	"a18b2faa745b6fe189cf772a9f84cbfc";

/* RFC 9001 A.3 / RFC 9369 A.3: ACK, then a CRYPTO frame with a 90-byte
 * ServerHello selecting x25519 and TLS_AES_128_GCM_SHA256. */
static const char sh_payload_hex[] =
	"02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
	"88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
	"0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
	"020304";
static const char v1_server_header_hex[] = "c1000000010008f067a5502a4262b50040750001";
static const char v2_server_header_hex[] = "d16b3343cf0008f067a5502a4262b50040750001";
static const char v1_server_packet_hex[] =
	"cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
	"5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
	"dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
	"022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
	"2158407dd074ee";
static const char v2_server_packet_hex[] =
	"dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
	"baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
	"f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
	"c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
	"4bed8521e2e140";

/* RFC 9001 A.4 Retry, and RFC 9369 A.4, its version 2 form; both answer a
 * client whose first DCID is dcid_hex. */
static const char retry_hex[] =
	"ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba";
static const char v2_retry_hex[] =
	"cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6";

/* ---- a test-only sealer: the inverse of what the module does ---- */

/* Protects `hdr` (ending in the packet number, its length in the low bits of
 * the first byte) + `payload` with keys `k` into `out`. Returns the length. */
static size_t seal(const struct kx_quic_keys *k, const uint8_t *hdr, size_t hdr_len,
		   const uint8_t *payload, size_t pay_len, uint8_t *out)
{
	size_t pn_len = (size_t)(hdr[0] & 3) + 1;
	size_t pn_off = hdr_len - pn_len;
	uint64_t pn = 0;
	for (size_t i = 0; i < pn_len; i++)
		pn = pn << 8 | hdr[pn_off + i];
	uint8_t nonce[12];
	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(pn >> (56 - 8 * i));
	memcpy(out, hdr, hdr_len);
	gcry_cipher_hd_t h;
	gcry_cipher_open(&h, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0);
	gcry_cipher_setkey(h, k->key, 16);
	gcry_cipher_setiv(h, nonce, 12);
	gcry_cipher_authenticate(h, hdr, hdr_len);
	gcry_cipher_final(h);
	if (pay_len)
		gcry_cipher_encrypt(h, out + hdr_len, pay_len, payload, pay_len);
	gcry_cipher_gettag(h, out + hdr_len + pay_len, 16);
	gcry_cipher_close(h);
	uint8_t mask[16];
	gcry_cipher_open(&h, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 0);
	gcry_cipher_setkey(h, k->hp, 16);
	gcry_cipher_encrypt(h, mask, 16, out + pn_off + 4, 16);
	gcry_cipher_close(h);
	out[0] ^= mask[0] & ((out[0] & 0x80) ? 0x0f : 0x1f);
	for (size_t i = 0; i < pn_len; i++)
		out[pn_off + i] ^= mask[1 + i];
	return hdr_len + pay_len + 16;
}

/* The Retry Integrity Tag of `pkt` (without its tag) for `odcid`, computed
 * here from the key and nonce given: the test-only inverse of kx_quic_retry. */
static void retry_tag(const char *key_hex, const char *nonce_hex, const uint8_t *odcid,
		      size_t odcid_len, const uint8_t *pkt, size_t len, uint8_t tag[16])
{
	uint8_t key[16], nonce[12], pseudo[512];
	unhex(key_hex, key, sizeof(key));
	unhex(nonce_hex, nonce, sizeof(nonce));
	pseudo[0] = (uint8_t)odcid_len;
	memcpy(pseudo + 1, odcid, odcid_len);
	memcpy(pseudo + 1 + odcid_len, pkt, len);
	gcry_cipher_hd_t h;
	gcry_cipher_open(&h, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0);
	gcry_cipher_setkey(h, key, 16);
	gcry_cipher_setiv(h, nonce, 12);
	gcry_cipher_authenticate(h, pseudo, 1 + odcid_len + len);
	gcry_cipher_final(h);
	gcry_cipher_encrypt(h, NULL, 0, NULL, 0);
	gcry_cipher_gettag(h, tag, 16);
	gcry_cipher_close(h);
}

static void put_varint(uint8_t *b, size_t *n, uint64_t v)
{
	if (v < 64) {
		b[(*n)++] = (uint8_t)v;
	} else if (v < 16384) {
		b[(*n)++] = (uint8_t)(0x40 | v >> 8);
		b[(*n)++] = (uint8_t)v;
	} else if (v < (UINT64_C(1) << 30)) {
		b[(*n)++] = (uint8_t)(0x80 | v >> 24);
		b[(*n)++] = (uint8_t)(v >> 16);
		b[(*n)++] = (uint8_t)(v >> 8);
		b[(*n)++] = (uint8_t)v;
	} else {
		b[(*n)++] = (uint8_t)(0xc0 | v >> 56);
		for (int s = 48; s >= 0; s -= 8)
			b[(*n)++] = (uint8_t)(v >> s);
	}
}

/* Builds and seals a long-header Initial: type bits for `version`, the given
 * CIDs, a token, packet number `pn` in `pn_len` bytes, payload as given. */
static size_t build_initial(const struct kx_quic_keys *k, uint32_t version, const uint8_t *dcid,
			    size_t dcid_len, const uint8_t *scid, size_t scid_len, size_t token_len,
			    uint64_t pn, size_t pn_len, const uint8_t *payload, size_t pay_len,
			    uint8_t *out)
{
	uint8_t hdr[256];
	size_t n = 0;
	unsigned type = (version == KX_QUIC_V2 || version == KX_QUIC_V2_DRAFT) ? 1 : 0;
	hdr[n++] = (uint8_t)(0xc0 | type << 4 | (pn_len - 1));
	hdr[n++] = (uint8_t)(version >> 24);
	hdr[n++] = (uint8_t)(version >> 16);
	hdr[n++] = (uint8_t)(version >> 8);
	hdr[n++] = (uint8_t)version;
	hdr[n++] = (uint8_t)dcid_len;
	if (dcid_len)
		memcpy(hdr + n, dcid, dcid_len);
	n += dcid_len;
	hdr[n++] = (uint8_t)scid_len;
	if (scid_len)
		memcpy(hdr + n, scid, scid_len);
	n += scid_len;
	put_varint(hdr, &n, token_len);
	memset(hdr + n, 0x77, token_len);
	n += token_len;
	/* a 2-byte Length field keeps the header length independent of it */
	uint64_t length = pn_len + pay_len + 16;
	hdr[n++] = (uint8_t)(0x40 | length >> 8);
	hdr[n++] = (uint8_t)length;
	for (size_t i = 0; i < pn_len; i++)
		hdr[n++] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
	return seal(k, hdr, n, payload, pay_len, out);
}

/* ---- callback that collects CRYPTO frames ---- */

struct frames {
	unsigned n;
	uint64_t off[32];
	uint32_t len[32];
	uint8_t data[8192];
	size_t used;
	unsigned stop_after; /* stop when n reaches this (0: never) */
};

static bool on_crypto(void *ctx, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct frames *f = ctx;
	if (f->n < 32) {
		f->off[f->n] = off;
		f->len[f->n] = len;
		if (f->used + len <= sizeof(f->data)) {
			memcpy(f->data + f->used, data, len);
			f->used += len;
		}
	}
	f->n++;
	return f->stop_after && f->n >= f->stop_after;
}

static struct kx_quic_ctx *qc;
static struct kx_quic_secrets rfc_v1, rfc_v2;
static uint8_t rfc_dcid[8];

static void test_keys(void)
{
	CHECK(kx_quic_init() == 0, "libgcrypt initialised");
	CHECK(kx_quic_init() == 0, "kx_quic_init is idempotent");
	unhex(dcid_hex, rfc_dcid, sizeof(rfc_dcid));
	CHECK(kx_quic_derive_initial(KX_QUIC_V1, rfc_dcid, 8, &rfc_v1) == 0, "v1 keys derived");
	/* RFC 9001 A.1 */
	CHECK(eq_hex(rfc_v1.client.key, 16, "1f369613dd76d5467730efcbe3b1a22d"), "A.1 client key");
	CHECK(eq_hex(rfc_v1.client.iv, 12, "fa044b2f42a3fd3b46fb255c"), "A.1 client iv");
	CHECK(eq_hex(rfc_v1.client.hp, 16, "9f50449e04a0e810283a1e9933adedd2"), "A.1 client hp");
	CHECK(eq_hex(rfc_v1.server.key, 16, "cf3a5331653c364c88f0f379b6067e37"), "A.1 server key");
	CHECK(eq_hex(rfc_v1.server.iv, 12, "0ac1493ca1905853b0bba03e"), "A.1 server iv");
	CHECK(eq_hex(rfc_v1.server.hp, 16, "c206b8d9b9f0f37644430b490eeaa314"), "A.1 server hp");
	CHECK(rfc_v1.odcid_len == 8 && memcmp(rfc_v1.odcid, rfc_dcid, 8) == 0, "original DCID kept");
	/* RFC 9369 A.1 */
	CHECK(kx_quic_derive_initial(KX_QUIC_V2, rfc_dcid, 8, &rfc_v2) == 0, "v2 keys derived");
	CHECK(eq_hex(rfc_v2.client.key, 16, "8b1a0bc121284290a29e0971b5cd045d"), "v2 A.1 client key");
	CHECK(eq_hex(rfc_v2.client.iv, 12, "91f73e2351d8fa91660e909f"), "v2 A.1 client iv");
	CHECK(eq_hex(rfc_v2.client.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9"), "v2 A.1 client hp");
	CHECK(eq_hex(rfc_v2.server.key, 16, "82db637861d55e1d011f19ea71d5d2a7"), "v2 A.1 server key");
	CHECK(eq_hex(rfc_v2.server.iv, 12, "dd13c276499c0249d3310652"), "v2 A.1 server iv");
	CHECK(eq_hex(rfc_v2.server.hp, 16, "edf6d05c83121201b436e16877593c3a"), "v2 A.1 server hp");

	struct kx_quic_secrets s;
	CHECK(kx_quic_derive_initial(0x12345678, rfc_dcid, 8, &s) < 0, "unknown version refused");
	uint8_t long_cid[21] = { 0 };
	CHECK(kx_quic_derive_initial(KX_QUIC_V1, long_cid, 21, &s) < 0, "21-byte DCID refused");
	CHECK(kx_quic_derive_initial(KX_QUIC_V1, NULL, 0, &s) == 0, "empty DCID derives");
	CHECK(kx_quic_derive_initial(KX_QUIC_DRAFT29, rfc_dcid, 8, &s) == 0 &&
	      kx_quic_derive_initial(KX_QUIC_V2_DRAFT, rfc_dcid, 8, &s) == 0, "draft versions derive");
	CHECK(kx_quic_version_known(KX_QUIC_V1) && kx_quic_version_known(KX_QUIC_V2) &&
	      !kx_quic_version_known(0) && !kx_quic_version_known(0xff00001e), "known versions");
}

/* Sealing the published plaintext must give the published packet. */
static void test_seal_matches(const char *what, const struct kx_quic_keys *k, const char *hdr_hex,
			      const char *payload_hex, size_t pad_to, const char *packet_hex)
{
	uint8_t hdr[64], payload[1300], want[1400], got[1400];
	size_t hl = unhex(hdr_hex, hdr, sizeof(hdr));
	size_t pl = unhex(payload_hex, payload, sizeof(payload));
	if (pl < pad_to) {
		memset(payload + pl, 0, pad_to - pl);
		pl = pad_to;
	}
	size_t wl = unhex(packet_hex, want, sizeof(want));
	size_t gl = seal(k, hdr, hl, payload, pl, got);
	CHECK(gl == wl && memcmp(got, want, wl) == 0, "%s: sealing the plaintext gives the published packet (%zu bytes)", what, wl);
}

static void test_rfc_client(const char *what, const char *packet_hex, uint32_t version)
{
	uint8_t pkt[1400], frame[300];
	size_t len = unhex(packet_hex, pkt, sizeof(pkt));
	size_t flen = unhex(ch_frame_hex, frame, sizeof(frame));
	CHECK_EQ(len, 1200, "client Initial length");

	struct kx_quic_datagram_info li;
	CHECK(kx_quic_looks_like_initial(pkt, len, &li), "%s looks like a client Initial", what);
	CHECK(li.version == version && li.dcid_len == 8 && memcmp(li.dcid, rfc_dcid, 8) == 0,
	      "%s: version and DCID from the cheap check", what);

	struct kx_quic_secrets s;
	kx_quic_derive_initial(li.version, li.dcid, li.dcid_len, &s);
	struct frames f;
	memset(&f, 0, sizeof(f));
	struct kx_quic_datagram_info info;
	enum kx_quic_rc rc = kx_quic_datagram(qc, pkt, len, true, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK, "%s opens: %s", what, kx_quic_rc_name(rc));
	CHECK(info.version == version && info.first_is_initial && info.initials == 1 &&
	      info.decrypted == 1 && info.skipped == 0 && !info.version_switched,
	      "%s: info counts", what);
	CHECK_EQ(info.first_pn, 2, "packet number");
	CHECK(f.n == 1 && f.off[0] == 0 && f.len[0] == flen - 4 &&
	      memcmp(f.data, frame + 4, flen - 4) == 0,
	      "%s: one CRYPTO frame with the published ClientHello", what);

	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	CHECK(f.used > 4 && f.data[0] == KX_HS_CLIENT_HELLO &&
	      kx_tls_parse_client_hello(f.data + 4, f.used - 4, &ch, &ex) == KX_PARSE_OK,
	      "%s: ClientHello parses", what);
	CHECK(ch.n_groups == 3 && ch.groups[0] == 0x001d && ch.groups[1] == 0x0017 &&
	      ch.groups[2] == 0x0018 && ch.n_shares == 1 && ch.shares[0] == 0x001d,
	      "%s: groups x25519,secp256r1,secp384r1, share x25519", what);
	CHECK_STR(ex.sni, "example.com", "SNI");

	/* The wrong side's keys do not open it. */
	memset(&f, 0, sizeof(f));
	rc = kx_quic_datagram(qc, pkt, len, false, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_DECRYPT_FAILED && f.n == 0 && info.initials == 1 && info.decrypted == 0,
	      "%s with server keys: %s", what, kx_quic_rc_name(rc));
}

static void test_rfc_server(const char *what, const char *packet_hex, uint32_t version,
			    struct kx_quic_secrets *s)
{
	uint8_t pkt[256], payload[128];
	size_t len = unhex(packet_hex, pkt, sizeof(pkt));
	size_t pl = unhex(sh_payload_hex, payload, sizeof(payload));
	CHECK(!kx_quic_looks_like_initial(pkt, len, NULL), "%s is not a client's first Initial", what);
	struct frames f;
	memset(&f, 0, sizeof(f));
	struct kx_quic_datagram_info info;
	enum kx_quic_rc rc = kx_quic_datagram(qc, pkt, len, false, s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK, "%s opens: %s", what, kx_quic_rc_name(rc));
	CHECK(info.version == version && info.dcid_len == 0 && info.scid_len == 8 &&
	      info.decrypted == 1, "%s: info", what);
	CHECK_EQ(info.first_pn, 1, "packet number (2-byte encoding)");
	/* CRYPTO starts after the 5-byte ACK frame and its 4-byte header. */
	CHECK(f.n == 1 && f.off[0] == 0 && f.len[0] == 90 && memcmp(f.data, payload + 9, 90) == 0 &&
	      pl == 99, "%s: the published ServerHello", what);
	struct kx_server_hello sh;
	CHECK(kx_tls_parse_server_hello(f.data + 4, f.used - 4, &sh) == KX_PARSE_OK &&
	      sh.version == 0x0304 && sh.cipher_suite == 0x1301 && sh.has_key_share &&
	      sh.group == 0x001d, "%s: ServerHello selects x25519", what);
}

static void test_truncation_and_corruption(void)
{
	uint8_t pkt[1400];
	size_t len = unhex(v1_client_packet_hex, pkt, sizeof(pkt));
	unsigned bad_rc = 0, called = 0, looks = 0;
	/* Every prefix in a buffer of exactly that size, so ASan sees any
	 * read past the end. */
	for (size_t n = 0; n < len; n++) {
		uint8_t *b = malloc(n ? n : 1);
		memcpy(b, pkt, n);
		struct frames f;
		memset(&f, 0, sizeof(f));
		struct kx_quic_secrets s = rfc_v1;
		enum kx_quic_rc rc = kx_quic_datagram(qc, b, n, true, &s, on_crypto, &f, NULL);
		bad_rc += rc == KX_QUIC_OK;
		called += f.n != 0;
		looks += kx_quic_looks_like_initial(b, n, NULL);
		free(b);
	}
	CHECK(bad_rc == 0 && called == 0 && looks == 0,
	      "all %zu truncations fail (ok %u, frames %u, look like Initial %u)", len, bad_rc, called, looks);

	/* Every single-byte change fails too: the header is authenticated as
	 * associated data, the rest by the tag. */
	unsigned opened = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t *b = malloc(len);
		memcpy(b, pkt, len);
		b[i] ^= (uint8_t)(1u << (i % 8));
		struct frames f;
		memset(&f, 0, sizeof(f));
		struct kx_quic_secrets s = rfc_v1;
		enum kx_quic_rc rc = kx_quic_datagram(qc, b, len, true, &s, on_crypto, &f, NULL);
		opened += rc == KX_QUIC_OK || f.n != 0;
		free(b);
	}
	CHECK(opened == 0, "all %zu single-bit corruptions fail (%u opened)", len, opened);

	/* Extra bytes after the Length-delimited packet are another "packet":
	 * a zero byte reads as a short header and is skipped. */
	uint8_t *b = malloc(len + 3);
	memcpy(b, pkt, len);
	memset(b + len, 0, 3);
	struct kx_quic_datagram_info info;
	struct kx_quic_secrets s = rfc_v1;
	enum kx_quic_rc rc = kx_quic_datagram(qc, b, len + 3, true, &s, NULL, NULL, &info);
	CHECK(rc == KX_QUIC_OK && info.decrypted == 1 && info.skipped == 1,
	      "trailing zero bytes skipped: %s, skipped %u", kx_quic_rc_name(rc), info.skipped);
	free(b);
}

static void test_not_quic(void)
{
	struct kx_quic_secrets s = rfc_v1;
	struct kx_quic_datagram_info info;
	uint8_t shorthdr[40];
	memset(shorthdr, 0x41, sizeof(shorthdr));
	CHECK(kx_quic_datagram(qc, shorthdr, sizeof(shorthdr), true, &s, NULL, NULL, &info) == KX_QUIC_NOT_QUIC,
	      "short header first: not QUIC (for a stateless reader)");
	uint8_t unknown[1200];
	memset(unknown, 0, sizeof(unknown));
	unknown[0] = 0xc0;
	unknown[1] = 0x0a; unknown[2] = 0x1a; unknown[3] = 0x2a; unknown[4] = 0x3a; /* reserved GREASE version */
	CHECK(kx_quic_datagram(qc, unknown, sizeof(unknown), true, &s, NULL, NULL, &info) == KX_QUIC_NOT_QUIC &&
	      !kx_quic_looks_like_initial(unknown, sizeof(unknown), NULL), "unknown version: not QUIC");
	CHECK(kx_quic_datagram(qc, NULL, 0, true, &s, NULL, NULL, &info) == KX_QUIC_NOT_QUIC ||
	      kx_quic_datagram(qc, NULL, 0, true, &s, NULL, NULL, &info) == KX_QUIC_NO_INITIAL,
	      "empty datagram");
	uint8_t vn[] = { 0x80, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf };
	CHECK(kx_quic_datagram(qc, vn, sizeof(vn), false, &s, NULL, NULL, &info) == KX_QUIC_NO_INITIAL &&
	      info.version == 0 && info.skipped == 1, "Version Negotiation: no Initial");
	uint8_t retry[128];
	size_t rl = unhex(retry_hex, retry, sizeof(retry));
	CHECK(kx_quic_datagram(qc, retry, rl, false, &s, NULL, NULL, &info) == KX_QUIC_NO_INITIAL &&
	      info.retry && info.scid_len == 8 && eq_hex(info.scid, 8, "f067a5502a4262b5"),
	      "RFC 9001 A.4 Retry: flagged, new connection ID reported");
	/* a 21-byte DCID in a known version */
	uint8_t longcid[1200];
	memset(longcid, 0, sizeof(longcid));
	longcid[0] = 0xc3; longcid[4] = 1; longcid[5] = 21;
	CHECK(kx_quic_datagram(qc, longcid, sizeof(longcid), true, &s, NULL, NULL, &info) == KX_QUIC_MALFORMED &&
	      !kx_quic_looks_like_initial(longcid, sizeof(longcid), NULL), "DCID longer than 20: malformed");
	uint8_t big[KX_QUIC_MAX_DATAGRAM + 1];
	memset(big, 0, sizeof(big));
	CHECK(kx_quic_datagram(qc, big, sizeof(big), true, &s, NULL, NULL, &info) == KX_QUIC_MALFORMED,
	      "datagram larger than any UDP payload refused");
}

#define RETRY_KEY_V1 "be0c690b9f66575a1d766b54e368c84e"
#define RETRY_NONCE_V1 "461599d35d632bf2239825bb"

/* A Retry of `version` to `dcid` from `scid` with a `token_len`-byte token
 * and a tag for `odcid`, made with the given key and nonce. */
static size_t build_retry(uint32_t version, unsigned type_bits, const char *key_hex,
			  const char *nonce_hex, const uint8_t *odcid, size_t odcid_len,
			  const uint8_t *scid, size_t scid_len, size_t token_len, uint8_t *out)
{
	size_t n = 0;
	out[n++] = (uint8_t)(0xc0 | type_bits << 4 | 0x0a);
	for (int sh = 24; sh >= 0; sh -= 8)
		out[n++] = (uint8_t)(version >> sh);
	out[n++] = 4;
	memcpy(out + n, "\x01\x02\x03\x04", 4);
	n += 4;
	out[n++] = (uint8_t)scid_len;
	memcpy(out + n, scid, scid_len);
	n += scid_len;
	memset(out + n, 0x5a, token_len);
	n += token_len;
	retry_tag(key_hex, nonce_hex, odcid, odcid_len, out, n, out + n);
	return n + 16;
}

static void test_retry(void)
{
	uint8_t pkt[128], odcid[8];
	unhex(dcid_hex, odcid, sizeof(odcid));
	struct kx_quic_retry r;
	size_t n = unhex(retry_hex, pkt, sizeof(pkt));
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_OK && r.version == KX_QUIC_V1 &&
		      r.dcid_len == 0 && r.scid_len == 8 && eq_hex(r.scid, 8, "f067a5502a4262b5") &&
		      r.token_len == 5,
	      "RFC 9001 A.4 Retry: tag verifies, new connection ID and 5-byte token read");
	uint8_t tag[16];
	retry_tag(RETRY_KEY_V1, RETRY_NONCE_V1, odcid, 8, pkt, n - 16, tag);
	CHECK(memcmp(tag, pkt + n - 16, 16) == 0, "the test's tag sealer gives the RFC 9001 A.4 tag");
	uint8_t other[8];
	memcpy(other, odcid, 8);
	other[7] ^= 1;
	CHECK(kx_quic_retry(qc, pkt, n, other, 8, &r) == KX_QUIC_DECRYPT_FAILED &&
		      kx_quic_retry(qc, pkt, n, odcid, 7, &r) == KX_QUIC_DECRYPT_FAILED,
	      "RFC 9001 A.4 Retry against another original DCID: tag fails");
	/* No single corrupted byte and no truncation passes. */
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			pkt[i] ^= (uint8_t)(1u << bit);
			bad += kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_OK;
			pkt[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t k = 0; k < n; k++)
		bad += kx_quic_retry(qc, pkt, k, odcid, 8, &r) == KX_QUIC_OK;
	CHECK(bad == 0, "RFC 9001 A.4 Retry: none of %zu bit flips and %zu truncations verifies",
	      n * 8, n);
	CHECK(kx_quic_retry(qc, pkt, 5 + 1 + 1 + 8 + 15, odcid, 8, &r) == KX_QUIC_MALFORMED,
	      "Retry without room for a tag: malformed");

	n = unhex(v2_retry_hex, pkt, sizeof(pkt));
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_OK && r.version == KX_QUIC_V2 &&
		      eq_hex(r.scid, 8, "f067a5502a4262b5") && r.token_len == 5,
	      "RFC 9369 A.4 Retry (v2 type bits, v2 key): tag verifies");
	pkt[0] = (uint8_t)((pkt[0] & 0xcf) | 0x30); /* v1's Retry bits are v2's Handshake */
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_NOT_QUIC,
	      "v2 packet with v1's Retry type bits: not a Retry");

	/* The draft versions' keys and type bits (the v2 draft's key is also
	 * exercised by pcaps/quic-ngtcp2-v2draft-retry.pcap, end to end). */
	uint8_t scid[3] = { 7, 8, 9 };
	n = build_retry(KX_QUIC_DRAFT29, 3, "ccce187ed09a09d05728155a6cb96be1",
			"e54930f97f2136f0530a8c1c", odcid, 8, scid, 3, 20, pkt);
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_OK && r.scid_len == 3 &&
		      r.dcid_len == 4 && r.token_len == 20, "draft-29 Retry: tag verifies");
	n = build_retry(KX_QUIC_V2_DRAFT, 0, "ba858dc7b43de5dbf87617ff4ab253db",
			"141b99c239b03e785d6a2e9f", odcid, 8, scid, 3, 20, pkt);
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_OK && r.version == KX_QUIC_V2_DRAFT,
	      "v2 draft Retry (type bits 00): tag verifies");
	n = build_retry(KX_QUIC_V2_DRAFT, 0, RETRY_KEY_V1, RETRY_NONCE_V1, odcid, 8, scid, 3, 20, pkt);
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_DECRYPT_FAILED,
	      "v2 draft Retry sealed with the v1 key: tag fails");
	n = build_retry(KX_QUIC_V1, 3, RETRY_KEY_V1, RETRY_NONCE_V1, odcid, 8, scid, 3, 0, pkt);
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 8, &r) == KX_QUIC_MALFORMED && r.token_len == 0,
	      "Retry with a valid tag but no token: refused (RFC 9000 17.2.5.2)");
	n = build_retry(KX_QUIC_V1, 3, RETRY_KEY_V1, RETRY_NONCE_V1, odcid, 0, scid, 0, 1, pkt);
	CHECK(kx_quic_retry(qc, pkt, n, odcid, 0, &r) == KX_QUIC_OK && r.scid_len == 0,
	      "Retry with empty connection IDs and a 1-byte token");

	/* Not a Retry at all. */
	uint8_t vn[] = { 0x80, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1 };
	CHECK(kx_quic_retry(qc, vn, sizeof(vn), odcid, 8, &r) == KX_QUIC_NOT_QUIC,
	      "Version Negotiation: not a Retry");
	uint8_t initial[1500];
	n = unhex(v1_client_packet_hex, initial, sizeof(initial));
	CHECK(kx_quic_retry(qc, initial, n, odcid, 8, &r) == KX_QUIC_NOT_QUIC, "Initial: not a Retry");
	uint8_t longcid[40] = { 0xf0, 0, 0, 0, 1, 21 };
	CHECK(kx_quic_retry(qc, longcid, sizeof(longcid), odcid, 8, &r) == KX_QUIC_MALFORMED,
	      "Retry with a 21-byte DCID: malformed");
}

static size_t crypto_frame(uint8_t *b, uint64_t off, const uint8_t *data, size_t n)
{
	size_t k = 0;
	b[k++] = 0x06;
	put_varint(b, &k, off);
	put_varint(b, &k, n);
	memcpy(b + k, data, n);
	return k + n;
}

static enum kx_quic_rc open_payload(const uint8_t *payload, size_t n, struct frames *f,
				    size_t pn_len, struct kx_quic_datagram_info *info)
{
	uint8_t pkt[1500];
	uint8_t scid[4] = { 9, 9, 9, 9 };
	size_t len = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, scid, 4, 0, 7, pn_len,
				   payload, n, pkt);
	memset(f, 0, sizeof(*f));
	struct kx_quic_secrets s = rfc_v1;
	return kx_quic_datagram(qc, pkt, len, true, &s, on_crypto, f, info);
}

static void test_frames(void)
{
	uint8_t p[1300], hello[600];
	for (size_t i = 0; i < sizeof(hello); i++)
		hello[i] = (uint8_t)(i * 7);
	struct frames f;
	struct kx_quic_datagram_info info;

	/* Chromium-like: PING, PADDING runs and out-of-order CRYPTO pieces. */
	size_t n = 0;
	p[n++] = 0x01;
	n += crypto_frame(p + n, 400, hello + 400, 200);
	memset(p + n, 0, 20);
	n += 20;
	n += crypto_frame(p + n, 0, hello, 150);
	p[n++] = 0x01;
	n += crypto_frame(p + n, 150, hello + 150, 250);
	memset(p + n, 0, 100);
	n += 100;
	enum kx_quic_rc rc = open_payload(p, n, &f, 1, &info);
	CHECK(rc == KX_QUIC_OK && f.n == 3 && f.off[0] == 400 && f.off[1] == 0 && f.off[2] == 150 &&
	      f.len[0] == 200 && f.len[1] == 150 && f.len[2] == 250 && info.crypto_frames == 3,
	      "shuffled CRYPTO frames between PING and PADDING, in wire order");
	CHECK(memcmp(f.data, hello + 400, 200) == 0 && memcmp(f.data + 200, hello, 150) == 0 &&
	      memcmp(f.data + 350, hello + 150, 250) == 0, "CRYPTO bytes intact");
	CHECK_EQ(info.first_pn, 7, "1-byte packet number");

	/* The callback can stop the walk. */
	memset(&f, 0, sizeof(f));
	uint8_t pkt[1500];
	size_t len = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, NULL, 0, 0, 3, 2, p, n, pkt);
	f.stop_after = 1;
	struct kx_quic_secrets s = rfc_v1;
	rc = kx_quic_datagram(qc, pkt, len, true, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK && f.n == 1, "callback stops after one frame");

	/* ACK with ranges and ECN counts, CONNECTION_CLOSE with a reason. */
	n = 0;
	uint8_t ack[] = { 0x03, 0x0a, 0x40, 0x10, 0x02, 0x01, 0x00, 0x01, 0x01, 0x02, 0x05, 0x06, 0x07 };
	memcpy(p + n, ack, sizeof(ack));
	n += sizeof(ack);
	n += crypto_frame(p + n, 0, hello, 10);
	uint8_t cc[] = { 0x1c, 0x0a, 0x06, 0x03, 'b', 'y', 'e' };
	memcpy(p + n, cc, sizeof(cc));
	n += sizeof(cc);
	memset(p + n, 0, 30);
	n += 30;
	rc = open_payload(p, n, &f, 4, &info);
	CHECK(rc == KX_QUIC_OK && f.n == 1 && f.len[0] == 10, "ACK_ECN with 2 ranges and CONNECTION_CLOSE skipped: %s", kx_quic_rc_name(rc));

	/* Frames an Initial must not carry. */
	static const uint8_t forbidden[] = { 0x04, 0x07, 0x08, 0x0f, 0x18, 0x1d, 0x1e, 0x30 };
	unsigned refused = 0;
	for (size_t i = 0; i < sizeof(forbidden); i++) {
		n = 0;
		n += crypto_frame(p + n, 0, hello, 10);
		p[n++] = forbidden[i];
		memset(p + n, 0, 40);
		n += 40;
		rc = open_payload(p, n, &f, 2, &info);
		refused += rc == KX_QUIC_MALFORMED;
	}
	CHECK(refused == sizeof(forbidden), "RESET_STREAM, NEW_TOKEN, STREAM, NEW_CONNECTION_ID, "
	      "application CONNECTION_CLOSE, HANDSHAKE_DONE, DATAGRAM: malformed (%u)", refused);

	/* A CRYPTO frame longer than the payload, and one past 2^62 - 1. */
	n = 0;
	p[n++] = 0x06;
	put_varint(p, &n, 0);
	put_varint(p, &n, 500);
	memset(p + n, 0, 60);
	n += 60;
	rc = open_payload(p, n, &f, 2, &info);
	CHECK(rc == KX_QUIC_MALFORMED && f.n == 0, "CRYPTO length beyond the payload");
	n = 0;
	p[n++] = 0x06;
	put_varint(p, &n, (UINT64_C(1) << 62) - 4);
	put_varint(p, &n, 10);
	memset(p + n, 0, 60);
	n += 60;
	rc = open_payload(p, n, &f, 2, &info);
	CHECK(rc == KX_QUIC_MALFORMED && f.n == 0, "CRYPTO offset + length beyond 2^62 - 1");
	n = 0;
	p[n++] = 0x06;
	put_varint(p, &n, (UINT64_C(1) << 62) - 11);
	put_varint(p, &n, 10);
	memset(p + n, 0xab, 10);
	n += 10;
	memset(p + n, 0, 40);
	n += 40;
	rc = open_payload(p, n, &f, 2, &info);
	CHECK(rc == KX_QUIC_OK && f.n == 1 && f.off[0] == (UINT64_C(1) << 62) - 11, "CRYPTO ending at 2^62 - 1 accepted");

	/* An ACK claiming 2^62 ranges ends with the bytes. */
	n = 0;
	uint8_t hugeack[] = { 0x02, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	memcpy(p + n, hugeack, sizeof(hugeack));
	n += sizeof(hugeack);
	memset(p + n, 0x01, 40);
	n += 40;
	rc = open_payload(p, n, &f, 2, &info);
	CHECK(rc == KX_QUIC_MALFORMED, "ACK range count beyond the payload");

	/* Frame type as an 8-byte varint beyond any known type. */
	n = 0;
	uint8_t bigtype[] = { 0xc0, 0, 0, 0, 0, 0, 0, 0x06 };
	memcpy(p + n, bigtype, sizeof(bigtype));
	n += sizeof(bigtype);
	memset(p + n, 0, 40);
	n += 40;
	rc = open_payload(p, n, &f, 2, &info);
	CHECK(rc == KX_QUIC_OK || rc == KX_QUIC_MALFORMED, "non-minimal frame type encoding handled");

	/* No frames at all: 4-byte packet number, empty payload. */
	rc = open_payload(p, 0, &f, 4, &info);
	CHECK(rc == KX_QUIC_MALFORMED && info.decrypted == 1, "empty payload is a protocol violation");

	/* Reserved bits set under header protection. */
	{
		uint8_t hdr[64];
		size_t hn = 0;
		hdr[hn++] = 0xc0 | 0x08 | 1;
		hdr[hn++] = 0; hdr[hn++] = 0; hdr[hn++] = 0; hdr[hn++] = 1;
		hdr[hn++] = 8;
		memcpy(hdr + hn, rfc_dcid, 8);
		hn += 8;
		hdr[hn++] = 0;
		hdr[hn++] = 0;
		size_t pay = 60;
		hdr[hn++] = (uint8_t)(0x40 | (2 + pay + 16) >> 8);
		hdr[hn++] = (uint8_t)(2 + pay + 16);
		hdr[hn++] = 0;
		hdr[hn++] = 5;
		memset(p, 0, pay);
		p[0] = 0x01;
		len = seal(&rfc_v1.client, hdr, hn, p, pay, pkt);
		s = rfc_v1;
		rc = kx_quic_datagram(qc, pkt, len, true, &s, NULL, NULL, &info);
		CHECK(rc == KX_QUIC_MALFORMED && info.decrypted == 1, "reserved bits set: malformed");
	}

	/* Length too small for the header-protection sample. */
	{
		uint8_t hdr[32];
		size_t hn = 0;
		hdr[hn++] = 0xc0;
		hdr[hn++] = 0; hdr[hn++] = 0; hdr[hn++] = 0; hdr[hn++] = 1;
		hdr[hn++] = 8;
		memcpy(hdr + hn, rfc_dcid, 8);
		hn += 8;
		hdr[hn++] = 0;
		hdr[hn++] = 0;
		hdr[hn++] = 19;
		memcpy(pkt, hdr, hn);
		memset(pkt + hn, 0, 19);
		s = rfc_v1;
		rc = kx_quic_datagram(qc, pkt, hn + 19, true, &s, NULL, NULL, &info);
		CHECK(rc == KX_QUIC_MALFORMED && info.initials == 1 && info.decrypted == 0,
		      "Length below 20: no sample, malformed");
	}
}

static void test_coalesced(void)
{
	uint8_t p[400], d[3000], one[1500];
	uint8_t hello[300];
	for (size_t i = 0; i < sizeof(hello); i++)
		hello[i] = (uint8_t)(i ^ 0x5a);
	uint8_t scid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n, len = 0;

	/* server: Initial (ACK + CRYPTO) + Handshake + Initial + 1-RTT */
	n = 0;
	p[n++] = 0x02; p[n++] = 0; p[n++] = 0; p[n++] = 0; p[n++] = 0;
	n += crypto_frame(p + n, 0, hello, 100);
	len += build_initial(&rfc_v1.server, KX_QUIC_V1, rfc_dcid, 8, scid, 8, 0, 0, 1, p, n, d + len);
	/* a Handshake packet: only its Length matters here */
	size_t hs_start = len;
	d[len++] = 0xe0;
	d[len++] = 0; d[len++] = 0; d[len++] = 0; d[len++] = 1;
	d[len++] = 8;
	memcpy(d + len, rfc_dcid, 8);
	len += 8;
	d[len++] = 8;
	memcpy(d + len, scid, 8);
	len += 8;
	d[len++] = 0x40; d[len++] = 50;
	memset(d + len, 0xee, 50);
	len += 50;
	(void)hs_start;
	n = crypto_frame(p, 100, hello + 100, 200);
	len += build_initial(&rfc_v1.server, KX_QUIC_V1, rfc_dcid, 8, scid, 8, 0, 1, 1, p, n, d + len);
	d[len++] = 0x40;
	memset(d + len, 0x33, 30);
	len += 30;

	struct frames f;
	memset(&f, 0, sizeof(f));
	struct kx_quic_datagram_info info;
	struct kx_quic_secrets s = rfc_v1;
	enum kx_quic_rc rc = kx_quic_datagram(qc, d, len, false, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK && info.initials == 2 && info.decrypted == 2 && info.skipped == 2 &&
	      f.n == 2 && f.off[1] == 100 && memcmp(f.data, hello, 300) == 0,
	      "Initial + Handshake + Initial + 1-RTT: both Initials opened, 2 skipped (%s, %u/%u/%u)",
	      kx_quic_rc_name(rc), info.initials, info.decrypted, info.skipped);

	/* A second packet for another connection ID is ignored (RFC 9000 12.2). */
	n = crypto_frame(p, 0, hello, 100);
	len = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, NULL, 0, 0, 0, 1, p, n, d);
	uint8_t other[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	len += build_initial(&rfc_v1.client, KX_QUIC_V1, other, 8, NULL, 0, 0, 1, 1, p, n, d + len);
	memset(&f, 0, sizeof(f));
	s = rfc_v1;
	rc = kx_quic_datagram(qc, d, len, true, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK && info.decrypted == 1 && info.skipped == 1 && f.n == 1,
	      "coalesced packet with another DCID ignored");

	/* A bad packet after a good one: frames of the first are delivered,
	 * the result reports the failure. */
	len = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, NULL, 0, 0, 0, 1, p, n, d);
	size_t l2 = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, NULL, 0, 0, 1, 1, p, n, one);
	one[l2 - 1] ^= 1;
	memcpy(d + len, one, l2);
	len += l2;
	memset(&f, 0, sizeof(f));
	s = rfc_v1;
	rc = kx_quic_datagram(qc, d, len, true, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_DECRYPT_FAILED && info.decrypted == 1 && info.initials == 2 && f.n == 1,
	      "good Initial then a corrupt one: %s, first delivered", kx_quic_rc_name(rc));

	/* A token in a client Initial (after Retry or NEW_TOKEN). */
	len = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, NULL, 0, 77, 0, 1, p, n, d);
	memset(d + len, 0, 1200 - len);
	/* padding outside the packet reads as a short header */
	memset(&f, 0, sizeof(f));
	s = rfc_v1;
	rc = kx_quic_datagram(qc, d, 1200, true, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK && f.n == 1 && kx_quic_looks_like_initial(d, 1200, NULL),
	      "Initial with a 77-byte token");

	/* Compatible version negotiation: v1 client, server answers in v2 with
	 * keys from the same original DCID. */
	struct kx_quic_secrets v2 = rfc_v2;
	n = crypto_frame(p, 0, hello, 100);
	len = build_initial(&v2.server, KX_QUIC_V2, NULL, 0, scid, 8, 0, 0, 2, p, n, d);
	memset(&f, 0, sizeof(f));
	s = rfc_v1;
	rc = kx_quic_datagram(qc, d, len, false, &s, on_crypto, &f, &info);
	CHECK(rc == KX_QUIC_OK && info.version_switched && s.version == KX_QUIC_V2 &&
	      info.version == KX_QUIC_V2 && f.n == 1, "v1 -> v2 switch: v2 keys derived from the original DCID");
	/* and back: a v1 packet re-derives v1 */
	len = build_initial(&rfc_v1.client, KX_QUIC_V1, rfc_dcid, 8, NULL, 0, 0, 0, 1, p, n, d);
	rc = kx_quic_datagram(qc, d, len, true, &s, NULL, NULL, &info);
	CHECK(rc == KX_QUIC_OK && info.version_switched && s.version == KX_QUIC_V1, "and back to v1");

	/* Draft versions: v2 draft uses the v2 type codes with its own salt. */
	struct kx_quic_secrets dv2, d29;
	kx_quic_derive_initial(KX_QUIC_V2_DRAFT, rfc_dcid, 8, &dv2);
	kx_quic_derive_initial(KX_QUIC_DRAFT29, rfc_dcid, 8, &d29);
	CHECK(memcmp(dv2.client.key, rfc_v2.client.key, 16) != 0 &&
	      memcmp(d29.client.key, rfc_v1.client.key, 16) != 0, "draft salts differ from the final ones");
	len = build_initial(&dv2.client, KX_QUIC_V2_DRAFT, rfc_dcid, 8, NULL, 0, 0, 0, 1, p, n, d);
	memset(d + len, 0, 1200 - len);
	s = dv2;
	rc = kx_quic_datagram(qc, d, 1200, true, &s, NULL, NULL, &info);
	CHECK(rc == KX_QUIC_OK && kx_quic_looks_like_initial(d, 1200, NULL), "v2 draft Initial");
	len = build_initial(&d29.client, KX_QUIC_DRAFT29, rfc_dcid, 8, NULL, 0, 0, 0, 1, p, n, d);
	memset(d + len, 0, 1200 - len);
	s = d29;
	rc = kx_quic_datagram(qc, d, 1200, true, &s, NULL, NULL, &info);
	CHECK(rc == KX_QUIC_OK && kx_quic_looks_like_initial(d, 1200, NULL), "draft-29 Initial");
	/* 0x00 / 0x10 type codes swap meaning between v1 and v2 */
	d[0] ^= 0x10;
	CHECK(!kx_quic_looks_like_initial(d, 1200, NULL), "draft-29 0-RTT type is not an Initial");
}

/* ---- the bundled QUIC captures, end to end ---- */

#define CAP_FLOWS 8
#define CAP_STREAM 16384
#define CAP_PIECES 32

/* One direction's CRYPTO stream, reassembled by offset; first copy wins. */
struct cstream {
	uint8_t buf[CAP_STREAM];
	uint8_t have[CAP_STREAM];
	uint64_t frame_of_zero;  /* first datagram that carried offset 0 */
	/* datagrams that brought new bytes: frame and lowest new offset */
	uint64_t piece_frame[CAP_PIECES];
	uint32_t piece_lo[CAP_PIECES];
	unsigned n_pieces;
	bool new_in_dgram;
	uint32_t lo_in_dgram;
};

struct cflow {
	bool used, bad;
	uint8_t family;
	uint8_t cip[16], sip[16];
	uint16_t cport, sport;
	uint64_t first_frame;
	bool retried, server_open;
	struct kx_quic_secrets s;
	struct cstream c, sv;
};

struct cap_state {
	struct cflow fl[CAP_FLOWS];
	struct cstream *cur;
	uint64_t frame;
	unsigned datagrams, opened, failed, retries;
};

static bool cap_crypto(void *ctx, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct cap_state *st = ctx;
	struct cstream *cs = st->cur;
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		if (o >= CAP_STREAM || cs->have[o])
			continue;
		cs->have[o] = 1;
		cs->buf[o] = data[i];
		if (!cs->new_in_dgram || o < cs->lo_in_dgram)
			cs->lo_in_dgram = (uint32_t)o;
		cs->new_in_dgram = true;
		if (o == 0)
			cs->frame_of_zero = st->frame;
	}
	return false;
}

/* Length of the first handshake message when all of it is present, else 0. */
static uint32_t cs_msg(const struct cstream *cs, uint8_t *type)
{
	for (int i = 0; i < 4; i++)
		if (!cs->have[i])
			return 0;
	uint32_t n = 4 + ((uint32_t)cs->buf[1] << 16 | (uint32_t)cs->buf[2] << 8 | cs->buf[3]);
	if (n > CAP_STREAM)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (!cs->have[i])
			return 0;
	*type = cs->buf[0];
	return n;
}

static void udp_datagram(struct cap_state *st, uint8_t family, const uint8_t *src, const uint8_t *dst,
			 uint16_t sport, uint16_t dport, const uint8_t *p, size_t len)
{
	size_t alen = family == 4 ? 4 : 16;
	struct cflow *f = NULL;
	bool from_client = false;
	for (int i = 0; i < CAP_FLOWS && !f; i++) {
		struct cflow *g = &st->fl[i];
		if (!g->used || g->family != family)
			continue;
		if (memcmp(g->cip, src, alen) == 0 && g->cport == sport &&
		    memcmp(g->sip, dst, alen) == 0 && g->sport == dport) {
			f = g;
			from_client = true;
		} else if (memcmp(g->cip, dst, alen) == 0 && g->cport == dport &&
			   memcmp(g->sip, src, alen) == 0 && g->sport == sport) {
			f = g;
		}
	}
	if (!f) {
		struct kx_quic_datagram_info li;
		if (!kx_quic_looks_like_initial(p, len, &li))
			return;
		for (int i = 0; i < CAP_FLOWS && !f; i++)
			if (!st->fl[i].used)
				f = &st->fl[i];
		if (!f)
			return;
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->family = family;
		memcpy(f->cip, src, alen);
		memcpy(f->sip, dst, alen);
		f->cport = sport;
		f->sport = dport;
		f->first_frame = st->frame;
		f->bad = kx_quic_derive_initial(li.version, li.dcid, li.dcid_len, &f->s) < 0;
		from_client = true;
	}
	if (f->bad)
		return;
	struct cstream *cs = from_client ? &f->c : &f->sv;
	st->cur = cs;
	cs->new_in_dgram = false;
	struct kx_quic_datagram_info info;
	enum kx_quic_rc rc = kx_quic_datagram(qc, p, len, from_client, &f->s, cap_crypto, st, &info);
	struct kx_quic_retry r;
	if (!from_client && info.retry) {
		/* As a client: the first Retry whose tag verifies, none later. */
		if (!f->retried && !f->server_open &&
		    kx_quic_retry(qc, p, len, f->s.odcid, f->s.odcid_len, &r) == KX_QUIC_OK &&
		    kx_quic_derive_initial(r.version, r.scid, r.scid_len, &f->s) == 0)
			f->retried = true;
		st->retries++;
	} else if (rc == KX_QUIC_DECRYPT_FAILED && from_client && info.first_is_initial) {
		/* A new attempt (Version Negotiation) or an Initial sent before
		 * the Retry reached the client: keys from its own DCID. */
		struct kx_quic_secrets own;
		if (kx_quic_derive_initial(info.version, info.dcid, info.dcid_len, &own) == 0) {
			rc = kx_quic_datagram(qc, p, len, true, &own, cap_crypto, st, &info);
			if (rc != KX_QUIC_DECRYPT_FAILED && !f->retried && !f->server_open)
				f->s = own;
		}
	}
	if (!from_client && info.decrypted)
		f->server_open = true;
	st->datagrams++;
	st->opened += info.decrypted;
	if (rc == KX_QUIC_MALFORMED || rc == KX_QUIC_DECRYPT_FAILED)
		st->failed++;
	if (cs->new_in_dgram && cs->n_pieces < CAP_PIECES) {
		cs->piece_frame[cs->n_pieces] = st->frame;
		cs->piece_lo[cs->n_pieces] = cs->lo_in_dgram;
		cs->n_pieces++;
	}
}

static bool read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	rewind(fp);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	size_t got = fread(b, 1, n > 0 ? (size_t)n : 0, fp);
	fclose(fp);
	*ret = b;
	*ret_len = got;
	return true;
}

/* Classic pcap, Ethernet, IPv4/IPv6 without extension headers -> UDP. */
static bool run_pcap(const char *path, struct cap_state *st)
{
	uint8_t *file;
	size_t flen;
	if (!read_file(path, &file, &flen))
		return false;
	struct kx_rd r = kx_rd_init(file, flen);
	uint32_t magic = kx_rd_u32le(&r);
	bool le = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
	bool be = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	kx_rd_skip(&r, 16);
	uint32_t link = le ? kx_rd_u32le(&r) : kx_rd_u32(&r);
	if ((!le && !be) || link != 1 || r.bad) {
		free(file);
		return false;
	}
	memset(st, 0, sizeof(*st));
	while (kx_rd_left(&r) >= 16) {
		kx_rd_skip(&r, 8);
		uint32_t incl = le ? kx_rd_u32le(&r) : kx_rd_u32(&r);
		kx_rd_skip(&r, 4);
		struct kx_rd pk = kx_rd_sub(&r, incl);
		if (r.bad)
			break;
		st->frame++;
		kx_rd_skip(&pk, 12);
		uint16_t et = kx_rd_u16(&pk);
		uint8_t src[16], dst[16], family;
		struct kx_rd ip;
		if (et == 0x0800) {
			uint8_t vihl = kx_rd_u8(&pk);
			kx_rd_skip(&pk, 1);
			uint16_t tot = kx_rd_u16(&pk);
			kx_rd_skip(&pk, 5);
			uint8_t proto = kx_rd_u8(&pk);
			kx_rd_skip(&pk, 2);
			const uint8_t *s4 = kx_rd_take(&pk, 4), *d4 = kx_rd_take(&pk, 4);
			size_t ihl = (size_t)(vihl & 15) * 4;
			if (pk.bad || proto != 17 || ihl < 20 || tot < ihl)
				continue;
			kx_rd_skip(&pk, ihl - 20);
			ip = kx_rd_sub(&pk, tot - ihl);
			memcpy(src, s4, 4);
			memcpy(dst, d4, 4);
			family = 4;
		} else if (et == 0x86dd) {
			kx_rd_skip(&pk, 4);
			uint16_t plen = kx_rd_u16(&pk);
			uint8_t nh = kx_rd_u8(&pk);
			kx_rd_skip(&pk, 1);
			const uint8_t *s6 = kx_rd_take(&pk, 16), *d6 = kx_rd_take(&pk, 16);
			if (pk.bad || nh != 17)
				continue;
			ip = kx_rd_sub(&pk, plen);
			memcpy(src, s6, 16);
			memcpy(dst, d6, 16);
			family = 6;
		} else {
			continue;
		}
		uint16_t sport = kx_rd_u16(&ip), dport = kx_rd_u16(&ip);
		uint16_t ulen = kx_rd_u16(&ip);
		kx_rd_skip(&ip, 2);
		if (ip.bad || ulen < 8)
			continue;
		struct kx_rd u = kx_rd_sub(&ip, ulen - 8u);
		size_t n = kx_rd_left(&u);
		const uint8_t *payload = kx_rd_take(&u, n);
		if (!u.bad && n)
			udp_datagram(st, family, src, dst, sport, dport, payload, n);
	}
	free(file);
	return true;
}

static void fmt_list(char *out, size_t cap, const uint16_t *v, unsigned n)
{
	size_t k = 0;
	out[0] = 0;
	for (unsigned i = 0; i < n && k + 8 < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s0x%04x", i ? "," : "", v[i]);
}

static void fmt_addr(char *out, size_t cap, uint8_t family, const uint8_t *a)
{
	if (family == 4) {
		snprintf(out, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return;
	}
	/* Enough of RFC 5952 for fd00:6b78::10 style addresses: the longest
	 * run of zero groups becomes "::". */
	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	int best = -1, best_len = 1;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	size_t k = 0;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			k += (size_t)snprintf(out + k, cap - k, "::");
			i += best_len - 1;
			continue;
		}
		k += (size_t)snprintf(out + k, cap - k, "%s%x", (k && out[k - 1] != ':') ? ":" : "", g[i]);
	}
}

/* Number of datagrams whose new bytes start inside [0, end). */
static unsigned pieces_below(const struct cstream *cs, uint32_t end)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cs->n_pieces; i++)
		n += cs->piece_lo[i] < end;
	return n;
}

static void check_capture(const char *pcap_dir, char **cols, unsigned n_rows_for_file, unsigned row_index)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", pcap_dir, cols[0]);
	static struct cap_state st;
	if (!run_pcap(path, &st)) {
		CHECK(0, "%s: cannot read (classic pcap, Ethernet expected)", cols[0]);
		return;
	}
	/* Handshakes in order of their first frame, like expected.tsv. */
	struct cflow *order[CAP_FLOWS];
	unsigned n = 0;
	for (int i = 0; i < CAP_FLOWS; i++)
		if (st.fl[i].used)
			order[n++] = &st.fl[i];
	CHECK(n == n_rows_for_file && st.failed == 0,
	      "%s: %u QUIC connection(s) (want %u), %u datagrams, %u Initials opened, %u failed",
	      cols[0], n, n_rows_for_file, st.datagrams, st.opened, st.failed);
	if (row_index >= n)
		return;
	struct cflow *f = order[row_index];
	char want[512], got[512];

	char cip[64], sip[64];
	fmt_addr(cip, sizeof(cip), f->family, f->cip);
	fmt_addr(sip, sizeof(sip), f->family, f->sip);
	snprintf(got, sizeof(got), "%s %u %s %u", cip, f->cport, sip, f->sport);
	snprintf(want, sizeof(want), "%s %s %s %s", cols[1], cols[2], cols[3], cols[4]);
	CHECK_STR(got, want, "endpoints");

	uint8_t type = 0;
	uint32_t chn = cs_msg(&f->c, &type);
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	bool ch_ok = chn && type == KX_HS_CLIENT_HELLO &&
		     kx_tls_parse_client_hello(f->c.buf + 4, chn - 4, &ch, &ex) == KX_PARSE_OK;
	CHECK(ch_ok, "%s: ClientHello reassembled from CRYPTO frames (%u bytes) and parsed", cols[0], chn);
	if (!ch_ok)
		return;
	CHECK_STR(ex.sni, cols[5], "sni");
	fmt_list(got, sizeof(got), ch.groups, ch.n_groups);
	CHECK_STR(got, cols[7], "offered groups");
	fmt_list(got, sizeof(got), ch.shares, ch.n_shares);
	CHECK_STR(got, cols[8], "key shares");
	snprintf(got, sizeof(got), "%u", pieces_below(&f->c, chn));
	CHECK_STR(got, cols[13], "ClientHello Initial datagrams");
	snprintf(got, sizeof(got), "%llu", (unsigned long long)f->c.frame_of_zero);
	CHECK_STR(got, cols[14], "first ClientHello frame");

	uint32_t shn = cs_msg(&f->sv, &type);
	struct kx_server_hello sh;
	bool sh_ok = shn && type == KX_HS_SERVER_HELLO &&
		     kx_tls_parse_server_hello(f->sv.buf + 4, shn - 4, &sh) == KX_PARSE_OK;
	if (cols[15][0] == 0) {
		CHECK(!sh_ok, "%s: no ServerHello expected", cols[0]);
		return;
	}
	CHECK(sh_ok, "%s: ServerHello reassembled and parsed", cols[0]);
	if (!sh_ok)
		return;
	snprintf(got, sizeof(got), "0x%04x", sh.version);
	CHECK_STR(got, cols[6], "version");
	snprintf(got, sizeof(got), "0x%04x", sh.group);
	CHECK_STR(sh.has_key_share ? got : "", cols[11], "selected group");
	snprintf(got, sizeof(got), "0x%04x", sh.cipher_suite);
	CHECK_STR(got, cols[12], "cipher suite");
	snprintf(got, sizeof(got), "%llu", (unsigned long long)f->sv.frame_of_zero);
	CHECK_STR(got, cols[15], "ServerHello frame");
}

/* Every quic-* row of expected.tsv, against what this module reads. */
static void test_captures(const char *pcap_dir)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/expected.tsv", pcap_dir);
	uint8_t *tsv;
	size_t n;
	if (!read_file(path, &tsv, &n)) {
		CHECK(1, "# SKIP no %s", path);
		return;
	}
	char *text = malloc(n + 1);
	memcpy(text, tsv, n);
	text[n] = 0;
	free(tsv);
	char *rows[256][17];
	unsigned n_rows = 0;
	for (char *line = strtok(text, "\n"); line && n_rows < 256; line = strtok(NULL, "\n")) {
		if (strncmp(line, "quic-", 5) != 0)
			continue;
		char *c = line;
		unsigned k = 0;
		for (; k < 17; k++) {
			rows[n_rows][k] = c;
			char *tab = strchr(c, '\t');
			if (!tab)
				break;
			*tab = 0;
			c = tab + 1;
		}
		if (k == 16)
			n_rows++;
	}
	if (!n_rows)
		CHECK(1, "# SKIP no QUIC captures in %s", path);
	for (unsigned i = 0; i < n_rows; i++) {
		unsigned same = 0, index = 0;
		for (unsigned j = 0; j < n_rows; j++) {
			if (strcmp(rows[j][0], rows[i][0]) == 0) {
				index += j < i;
				same++;
			}
		}
		check_capture(pcap_dir, rows[i], same, index);
	}
	free(text);
}

int main(int argc, char **argv)
{
	if (kx_quic_init() < 0) {
		printf("Bail out! libgcrypt init failed\n");
		return 1;
	}
	qc = kx_quic_ctx_new();
	if (!qc) {
		printf("Bail out! kx_quic_ctx_new failed\n");
		return 1;
	}
	test_keys();
	test_seal_matches("RFC 9001 A.2", &rfc_v1.client, v1_client_header_hex, ch_frame_hex, 1162,
			  v1_client_packet_hex);
	test_seal_matches("RFC 9001 A.3", &rfc_v1.server, v1_server_header_hex, sh_payload_hex, 0,
			  v1_server_packet_hex);
	test_seal_matches("RFC 9369 A.2", &rfc_v2.client, v2_client_header_hex, ch_frame_hex, 1162,
			  v2_client_packet_hex);
	test_seal_matches("RFC 9369 A.3", &rfc_v2.server, v2_server_header_hex, sh_payload_hex, 0,
			  v2_server_packet_hex);
	test_rfc_client("RFC 9001 A.2", v1_client_packet_hex, KX_QUIC_V1);
	test_rfc_client("RFC 9369 A.2", v2_client_packet_hex, KX_QUIC_V2);
	test_rfc_server("RFC 9001 A.3", v1_server_packet_hex, KX_QUIC_V1, &rfc_v1);
	test_rfc_server("RFC 9369 A.3", v2_server_packet_hex, KX_QUIC_V2, &rfc_v2);
	test_truncation_and_corruption();
	test_not_quic();
	test_retry();
	test_frames();
	test_coalesced();
	/* argv[1] is tests/data (as for every unit test); the captures live
	 * in pcaps/ at the top of the tree. */
	char pcaps[1024];
	snprintf(pcaps, sizeof(pcaps), "%s/../../pcaps", argc > 1 ? argv[1] : "tests/data");
	test_captures(pcaps);
	kx_quic_ctx_free(qc);
	kx_quic_ctx_free(NULL);
	return tap_done();
}
