// Pages of key and org lists: order, cursors, limits.
#include "auth/key_page.h"

#include <gtest/gtest.h>

namespace keygate::auth {
namespace {

KeyRecord key(const std::string& id, UnixSeconds created_at) {
  KeyRecord record;
  record.id = id;
  record.created_at = created_at;
  return record;
}

std::vector<std::string> ids(const std::vector<KeyRecord>& keys) {
  std::vector<std::string> out;
  for (const KeyRecord& k : keys) out.push_back(k.id);
  return out;
}

TEST(KeyPage, KeysComeInCreationOrderAndEveryKeyOnce) {
  const std::vector<KeyRecord> keys = {key("key_c", 30), key("key_a", 10), key("key_b2", 20),
                                       key("key_b1", 20)};
  KeyResult<Page<KeyRecord>> first = page_keys(keys, {2, ""});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(ids(first.value.items), (std::vector<std::string>{"key_a", "key_b1"}));
  ASSERT_TRUE(first.value.next_cursor);
  EXPECT_EQ(*first.value.next_cursor, "20.key_b1");
  KeyResult<Page<KeyRecord>> second = page_keys(keys, {2, *first.value.next_cursor});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ids(second.value.items), (std::vector<std::string>{"key_b2", "key_c"}));
  EXPECT_FALSE(second.value.next_cursor);                 // nothing after it
  EXPECT_EQ(page_keys(keys, {}).value.items.size(), 4u);  // no limit: everything
}

TEST(KeyPage, ACursorStillWorksWhenItsKeyWasDeleted) {
  const std::vector<KeyRecord> keys = {key("key_a", 10), key("key_c", 30)};
  KeyResult<Page<KeyRecord>> page = page_keys(keys, {10, "20.key_b"});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids(page.value.items), (std::vector<std::string>{"key_c"}));
}

TEST(KeyPage, BadCursorsAndLimitsAreInvalidArguments) {
  for (const char* cursor : {"garbage", ".key_a", "10.", "-5.key_a", "x1.key_a"})
    EXPECT_EQ(page_keys({}, {1, cursor}).code, KeyErrc::invalid_argument) << cursor;
  EXPECT_EQ(page_keys({}, {0, ""}).code, KeyErrc::invalid_argument);
  EXPECT_EQ(page_keys({}, {kMaxPageLimit + 1, ""}).code, KeyErrc::invalid_argument);
  std::string error;
  EXPECT_EQ(parse_page_limit("50", error), 50u);
  for (const char* text : {"", "0", "1001", "5x", "-1", "many"})
    EXPECT_FALSE(parse_page_limit(text, error)) << text;
}

TEST(KeyPage, OrgsComeById) {
  const std::vector<OrgRecord> orgs = {{"zeta", "", 1}, {"acme", "", 2}, {"beta", "", 3}};
  KeyResult<Page<OrgRecord>> first = page_orgs(orgs, {2, ""});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.value.items.size(), 2u);
  EXPECT_EQ(first.value.items[1].id, "beta");
  EXPECT_EQ(first.value.next_cursor, "beta");
  KeyResult<Page<OrgRecord>> rest = page_orgs(orgs, {2, "beta"});
  ASSERT_EQ(rest.value.items.size(), 1u);
  EXPECT_EQ(rest.value.items[0].id, "zeta");
  EXPECT_FALSE(rest.value.next_cursor);
}

}  // namespace
}  // namespace keygate::auth
