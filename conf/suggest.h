// "Did you mean ...?" for misspelt keys and names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keygate::conf {

// The candidate closest to `word` by edit distance, or "" when none is close enough to be
// a plausible typo (more than a third of the word changed).
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace keygate::conf
