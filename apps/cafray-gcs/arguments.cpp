#include <algorithm>
#include <unistd.h>
#include <ctime>

#include "roles.hpp"

namespace cafray::gcs_tool {

arguments::arguments(int argc, char** argv, int first,
                     const std::vector<std::string>& known) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      error_ = "expected --key=value, got '" + arg + "'";
      return;
    }
    auto key = arg.substr(2, eq - 2);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      error_ = "unknown key '" + key + "'";
      return;
    }
    values_[key] = arg.substr(eq + 1);
  }
}

std::string arguments::text(const std::string& key,
                            std::string fallback) const {
  auto i = values_.find(key);
  return i == values_.end() ? fallback : i->second;
}

uint64_t arguments::number(const std::string& key, uint64_t fallback) {
  auto i = values_.find(key);
  if (i == values_.end())
    return fallback;
  auto& str = i->second;
  if (str.empty()
      || !std::all_of(str.begin(), str.end(), [](char c) {
           return c >= '0' && c <= '9';
         })) {
    error_ = "--" + key + " needs a non-negative integer, got '" + str + "'";
    return fallback;
  }
  return std::stoull(str);
}

std::vector<uint64_t> arguments::numbers(const std::string& key) {
  std::vector<uint64_t> result;
  auto str = text(key);
  size_t pos = 0;
  while (pos < str.size()) {
    auto comma = str.find(',', pos);
    auto item = str.substr(pos, comma == std::string::npos ? std::string::npos
                                                           : comma - pos);
    if (item.empty()
        || !std::all_of(item.begin(), item.end(),
                        [](char c) { return c >= '0' && c <= '9'; })) {
      error_ = "--" + key + " needs numbers separated by commas";
      return {};
    }
    result.push_back(std::stoull(item));
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return result;
}

std::optional<std::pair<std::string, uint16_t>>
arguments::endpoint(const std::string& key) {
  auto str = text(key);
  auto colon = str.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == str.size()) {
    error_ = "--" + key + " needs HOST:PORT";
    return std::nullopt;
  }
  auto port = str.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(),
                   [](char c) { return c >= '0' && c <= '9'; })
      || port.size() > 5 || std::stoul(port) > 65535) {
    error_ = "--" + key + " has a bad port";
    return std::nullopt;
  }
  return std::pair{str.substr(0, colon),
                   static_cast<uint16_t>(std::stoul(port))};
}

void wait_for_signal() {
  // SIGTERM and SIGINT keep their default action and end the process:
  // every write a replica acknowledged is committed already, and the
  // coordinator's state file is replaced atomically.
  for (;;)
    pause();
}

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

} // namespace cafray::gcs_tool
