// Pages of a list answer (`GET /v1/keys`, `GET /v1/orgs`, `keygate keys|orgs list`): at most
// `limit` items after `cursor`, and the cursor of the next page when there is one. Keys are
// in creation order (ties by id), orgs by id. A cursor is opaque to clients; it names the last
// item of the page it ended, so a page stays correct when items before it are deleted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "auth/key_manager.h"
#include "auth/key_record.h"

namespace keygate::auth {

inline constexpr std::size_t kDefaultPageLimit = 100;
inline constexpr std::size_t kMaxPageLimit = 1000;

struct PageRequest {
  std::optional<std::size_t> limit;  // nullopt: every item (the CLI); 1..kMaxPageLimit
  std::string cursor;                // empty: from the start
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;  // nullopt: this was the last page
};

// invalid_argument for a cursor no page gave, or a limit outside 1..kMaxPageLimit.
KeyResult<Page<KeyRecord>> page_keys(std::vector<KeyRecord> keys, const PageRequest& request);
KeyResult<Page<OrgRecord>> page_orgs(std::vector<OrgRecord> orgs, const PageRequest& request);

// A limit given as text ("50"): nullopt and `error` set unless it is 1..kMaxPageLimit.
std::optional<std::size_t> parse_page_limit(std::string_view text, std::string& error);

}  // namespace keygate::auth
