// RFC 9380 hash_to_curve / encode_to_curve against the suite's published vectors.
#include <gtest/gtest.h>

#include "mupre/bls12_381.h"
#include "test_util.h"

namespace mupre::bls12_381 {
namespace {

using test::bytes_of;
using test::from_hex;

// "0xc0,0xc1" (the JSON's Fp2 form, c0 first) -> the ZCash uncompressed coordinate bytes.
std::vector<std::uint8_t> coord_bytes(const std::string& s) {
  const auto comma = s.find(',');
  auto pad = [](std::vector<std::uint8_t> v) {
    v.insert(v.begin(), 48 - v.size(), 0);
    return v;
  };
  if (comma == std::string::npos) return pad(from_hex(s));
  auto c1 = pad(from_hex(s.substr(comma + 1)));
  const auto c0 = pad(from_hex(s.substr(0, comma)));
  c1.insert(c1.end(), c0.begin(), c0.end());
  return c1;
}

template <class P, class Hash, class Serialize>
void check_suite(const std::string& file, std::size_t size, Hash hash, Serialize serialize) {
  const auto j = test::read_json(test::vectors_path("bls12381/" + file));
  const auto dst = bytes_of(j["dst"]);
  ASSERT_FALSE(j["vectors"].empty());
  for (const auto& v : j["vectors"]) {
    const auto msg = bytes_of(v["msg"]);
    const P p = hash(msg, dst);
    std::vector<std::uint8_t> out(size);
    serialize(p, out.data());
    auto expected = coord_bytes(v["P"]["x"]);
    const auto y = coord_bytes(v["P"]["y"]);
    expected.insert(expected.end(), y.begin(), y.end());
    EXPECT_EQ(out, expected) << file << " msg '" << std::string(v["msg"]) << "'";
  }
}

TEST(HashToCurve, G1RandomOracleSuite) {
  check_suite<G1>("BLS12381G1_XMD-SHA-256_SSWU_RO_.json", 96, hash_to_g1, g1_serialize);
}
TEST(HashToCurve, G1NonUniformSuite) {
  check_suite<G1>("BLS12381G1_XMD-SHA-256_SSWU_NU_.json", 96, encode_to_g1, g1_serialize);
}
TEST(HashToCurve, G2RandomOracleSuite) {
  check_suite<G2>("BLS12381G2_XMD-SHA-256_SSWU_RO_.json", 192, hash_to_g2, g2_serialize);
}
TEST(HashToCurve, G2NonUniformSuite) {
  check_suite<G2>("BLS12381G2_XMD-SHA-256_SSWU_NU_.json", 192, encode_to_g2, g2_serialize);
}

TEST(HashToCurve, CirclHashesWithProjectDst) {
  const auto j = test::read_json(test::vectors_path("bls12381/pairing_circl.json"));
  for (const auto& h : j["hashes"]) {
    const auto msg = from_hex(h["msg"]);
    const auto dst = bytes_of(h["dst"]);
    std::uint8_t a[48], b[96];
    g1_compress(hash_to_g1(msg, dst), a);
    g2_compress(hash_to_g2(msg, dst), b);
    EXPECT_EQ(std::vector<std::uint8_t>(a, a + 48), from_hex(h["g1"]));
    EXPECT_EQ(std::vector<std::uint8_t>(b, b + 96), from_hex(h["g2"]));
  }
}

TEST(HashToCurve, OutputsAreInTheSubgroups) {
  const auto dst = bytes_of("HOPBOX-TEST");
  for (int i = 0; i < 5; ++i) {
    const std::vector<std::uint8_t> msg(static_cast<std::size_t>(i * 7),
                                        static_cast<std::uint8_t>(i));
    EXPECT_TRUE(g1_in_subgroup(hash_to_g1(msg, dst)));
    EXPECT_TRUE(g2_in_subgroup(hash_to_g2(msg, dst)));
  }
  // An oversized DST is hashed first (RFC 9380 5.3.3) and still works.
  const std::vector<std::uint8_t> long_dst(300, 'd');
  EXPECT_TRUE(g2_in_subgroup(hash_to_g2(bytes_of("abc"), long_dst)));
}

}  // namespace
}  // namespace mupre::bls12_381
