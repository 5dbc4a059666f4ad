#include "conf/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "conf/config_checks.h"
#include "conf/config_defaults.h"
#include "conf/diagnostics.h"
#include "conf/parse_context.h"
#include "conf/section_parsers.h"

namespace keygate::conf {
namespace {

LoadResult failed(const Diagnostics& diag) {
  return {nullptr, diag.sorted_errors()};
}

}  // namespace

LoadResult load_config_string(std::string_view yaml, const std::string& name,
                              const std::string& base_dir) {
  Diagnostics diag(name);
  auto config = std::make_shared<Config>();
  config->source_path = name;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    ParseContext ctx(*config, diag);
    parse_document(root, ctx);
    check_config(ctx);
  } catch (const YAML::Exception& e) {
    // Syntax errors: yaml-cpp stops at the first, and nothing after it can be trusted.
    diag.error(to_source_mark(e.mark), e.msg);
  } catch (const std::exception& e) {
    diag.error({}, std::string("cannot load the configuration: ") + e.what());
  }
  if (!diag.empty()) return failed(diag);
  resolve_relative_paths(*config, base_dir);
  return {std::move(config), {}};
}

LoadResult load_config_file(const std::string& path) {
  std::error_code ec;
  std::ifstream in(path, std::ios::binary);
  std::string content;
  if (in && !std::filesystem::is_directory(path, ec))
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in || in.bad() || std::filesystem::is_directory(path, ec)) {
    Diagnostics diag(path);
    diag.error({}, "cannot read the configuration file");
    return failed(diag);
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  // Absolute, so the paths stay right if the process changes directory later.
  std::filesystem::path absolute_dir = std::filesystem::absolute(dir.empty() ? "." : dir, ec);
  if (!ec) dir = absolute_dir.lexically_normal();
  return load_config_string(content, path, dir.string());
}

}  // namespace keygate::conf
