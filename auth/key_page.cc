#include "auth/key_page.h"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace keygate::auth {
namespace {

std::string key_cursor(const KeyRecord& key) {
  return std::to_string(key.created_at) + "." + key.id;
}

// "<created_at>.<id>" back into its parts.
std::optional<std::pair<UnixSeconds, std::string>> parse_key_cursor(const std::string& cursor) {
  const auto dot = cursor.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == cursor.size()) return std::nullopt;
  UnixSeconds created_at = 0;
  const char* end = cursor.data() + dot;
  auto [ptr, ec] = std::from_chars(cursor.data(), end, created_at);
  if (ec != std::errc() || ptr != end || created_at < 0) return std::nullopt;
  return std::make_pair(created_at, cursor.substr(dot + 1));
}

template <class T>
KeyResult<Page<T>> bad(std::string message) {
  KeyResult<Page<T>> result;
  result.code = KeyErrc::invalid_argument;
  result.message = std::move(message);
  return result;
}

// Items after position `first` of sorted `items`, at most `limit` of them.
template <class T, class CursorOf>
KeyResult<Page<T>> take_page(std::vector<T> items, std::size_t first,
                             std::optional<std::size_t> limit, CursorOf cursor_of) {
  if (limit && (*limit == 0 || *limit > kMaxPageLimit))
    return bad<T>("limit must be 1.." + std::to_string(kMaxPageLimit));
  KeyResult<Page<T>> result;
  const std::size_t last = limit ? std::min(items.size(), first + *limit) : items.size();
  for (std::size_t i = first; i < last; ++i) result.value.items.push_back(std::move(items[i]));
  if (last < items.size() && !result.value.items.empty())
    result.value.next_cursor = cursor_of(result.value.items.back());
  return result;
}

}  // namespace

KeyResult<Page<KeyRecord>> page_keys(std::vector<KeyRecord> keys, const PageRequest& request) {
  auto order = [](const KeyRecord& key) { return std::tie(key.created_at, key.id); };
  std::sort(keys.begin(), keys.end(),
            [&](const KeyRecord& a, const KeyRecord& b) { return order(a) < order(b); });
  std::size_t first = 0;
  if (!request.cursor.empty()) {
    auto after = parse_key_cursor(request.cursor);
    if (!after) return bad<KeyRecord>("cursor is not one a previous page gave");
    first = static_cast<std::size_t>(
        std::upper_bound(
            keys.begin(), keys.end(), *after,
            [&](const std::pair<UnixSeconds, std::string>& value, const KeyRecord& key) {
              return value < std::make_pair(key.created_at, key.id);
            }) -
        keys.begin());
  }
  return take_page(std::move(keys), first, request.limit, key_cursor);
}

KeyResult<Page<OrgRecord>> page_orgs(std::vector<OrgRecord> orgs, const PageRequest& request) {
  std::sort(orgs.begin(), orgs.end(),
            [](const OrgRecord& a, const OrgRecord& b) { return a.id < b.id; });
  std::size_t first = 0;
  if (!request.cursor.empty()) {
    first = static_cast<std::size_t>(
        std::upper_bound(
            orgs.begin(), orgs.end(), request.cursor,
            [](const std::string& value, const OrgRecord& org) { return value < org.id; }) -
        orgs.begin());
  }
  return take_page(std::move(orgs), first, request.limit,
                   [](const OrgRecord& org) { return org.id; });
}

std::optional<std::size_t> parse_page_limit(std::string_view text, std::string& error) {
  std::size_t limit = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || limit == 0 ||
      limit > kMaxPageLimit) {
    error = "limit must be a whole number from 1 to " + std::to_string(kMaxPageLimit);
    return std::nullopt;
  }
  return limit;
}

}  // namespace keygate::auth
