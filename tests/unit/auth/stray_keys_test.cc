#include "auth/stray_keys.h"

#include <gtest/gtest.h>

#include "auth/key_format.h"
#include "conf/config_defaults.h"

namespace keygate::auth {
namespace {

conf::KeysConfig keys_config() {
  conf::KeysConfig keys;
  keys.prefixes = {{"live", "secret", "sk_live_"}, {"test", "public", "pk_test_"}};
  return keys;
}

TEST(StrayKeys, KeyLikeParametersAreRemovedWhateverTheirName) {
  const auto keys = keys_config();
  const auto key = generate_key(keys.prefixes[0]);
  const auto other = generate_key(keys.prefixes[1]);
  EXPECT_EQ(remove_key_like_params("/x?token=" + key, keys).value(), "/x");
  EXPECT_EQ(remove_key_like_params("/x?a=1&token=" + key + "&b=2", keys).value(), "/x?a=1&b=2");
  EXPECT_EQ(remove_key_like_params("/x?k=" + key + "&a=1&j=" + other, keys).value(), "/x?a=1");
  // Percent-encoded, as a browser might send it.
  std::string encoded = key;
  encoded.replace(2, 1, "%5F");  // sk_ -> sk%5F
  EXPECT_EQ(remove_key_like_params("/x?t=" + encoded + "&z", keys).value(), "/x?z");
}

TEST(StrayKeys, NothingIsCopiedWhenThereIsNoKey) {
  const auto keys = keys_config();
  EXPECT_FALSE(remove_key_like_params("/x", keys));
  EXPECT_FALSE(remove_key_like_params("/x?a=1&b=sk_live_short", keys));
  // A key-shaped value whose checksum is wrong is not a key (and is not worth hiding).
  auto key = generate_key(keys.prefixes[0]);
  key.back() = key.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(remove_key_like_params("/x?t=" + key, keys));
}

}  // namespace
}  // namespace keygate::auth
