// The outcome of parsing one value: the value, or why the text is not one.
#pragma once

#include <optional>
#include <string>

namespace keygate::conf {

template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // set when value is empty; phrased to follow "<field>: "

  static Parsed ok(T v) { return {std::move(v), {}}; }
  static Parsed fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

}  // namespace keygate::conf
