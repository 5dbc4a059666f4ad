// Linked into every test binary (CMakeLists.txt): fails the run when a test leaves a new file
// at the top of the source tree or in the directory the binary was started from. Tests write
// only below temporary directories; a relative path that slips through (a store opened as
// "keys.json") lands in one of these two places, which is how keys.json and keys.json.lock
// once ended up committed at the repository root.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace keygate::testing {
namespace {

std::set<std::string> entries(const std::filesystem::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.insert(it->path().filename().string());
  return names;
}

class SourceTreeGuard final : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const std::filesystem::path& dir : watched()) before_[dir.string()] = entries(dir);
  }

  void TearDown() override {
    for (const auto& [dir, names] : before_) {
      for (const std::string& name : entries(dir)) {
        if (!names.contains(name))
          ADD_FAILURE() << "a test wrote " << (std::filesystem::path(dir) / name).string()
                        << ": tests must write only below temporary directories";
      }
    }
  }

 private:
  static std::set<std::filesystem::path> watched() {
    std::set<std::filesystem::path> dirs;
    std::error_code ec;
    dirs.insert(std::filesystem::weakly_canonical(KEYGATE_SOURCE_DIR, ec));
    dirs.insert(std::filesystem::current_path(ec));
    return dirs;
  }

  std::map<std::string, std::set<std::string>> before_;
};

// Registered before main() runs; gtest owns and deletes it.
[[maybe_unused]] ::testing::Environment* const kGuard =
    ::testing::AddGlobalTestEnvironment(new SourceTreeGuard);

}  // namespace
}  // namespace keygate::testing
