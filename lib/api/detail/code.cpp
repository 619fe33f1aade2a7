#include "api/detail/code.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <dlfcn.h>
#include <unistd.h>

#include <caf/scoped_actor.hpp>
#include <fmt/core.h>

#include "api/errors.hpp"
#include "common/error.hpp"
#include "proto/messages.hpp"

namespace cafray::detail {

namespace {

constexpr auto gcs_timeout = std::chrono::seconds{10};

std::string content_hash(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}{:08x}", h, static_cast<uint32_t>(bytes.size()));
}

std::string job_key(const job_id& job) {
  return "job-code/" + to_string(job);
}

void put_row(caf::actor_system& sys, const gcs_router& gcs,
             const std::string& key, std::string value) {
  caf::scoped_actor self{sys};
  self
    ->request(gcs.shard_for(key), gcs_timeout, put_atom_v,
              static_cast<uint8_t>(gcs_table::kv), key, std::move(value))
    .receive([](ok_atom) {},
             [&](caf::error& err) {
               throw error{errc::storage_error,
                           "cannot store '" + key + "' in the GCS: "
                             + sys.render(err)};
             });
}

/// The row, or "" if the key does not exist; throws on other failures.
std::string get_row(caf::actor_system& sys, const gcs_router& gcs,
                    const std::string& key, bool& found) {
  std::string result;
  found = false;
  caf::scoped_actor self{sys};
  self
    ->request(gcs.shard_for(key), gcs_timeout, get_atom_v,
              static_cast<uint8_t>(gcs_table::kv), key)
    .receive(
      [&](std::string& value) {
        result = std::move(value);
        found = true;
      },
      [&](caf::error& err) {
        if (err.category() == error_category
            && static_cast<errc>(err.code()) == errc::not_found)
          return;
        throw error{errc::storage_error, "cannot read '" + key
                                           + "' from the GCS: "
                                           + sys.render(err)};
      });
  return result;
}

void* open_library(const std::string& path) {
  auto handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    auto why = dlerror();
    throw error{errc::invalid_config, "cannot load code library '" + path
                                        + "': " + (why ? why : "unknown")};
  }
  return handle;
}

std::mutex loaded_mtx;
std::set<std::string> loaded_hashes;  // libraries loaded in this process
std::map<job_id, bool> loaded_jobs;   // jobs whose code list was read

} // namespace

std::vector<std::string> code_from_environment() {
  std::vector<std::string> result;
  auto env = std::getenv("CAFRAY_CODE");
  if (!env)
    return result;
  std::stringstream in{env};
  std::string path;
  while (std::getline(in, path, ':'))
    if (!path.empty())
      result.push_back(path);
  return result;
}

void ship_code(caf::actor_system& sys, const gcs_router& gcs,
               const job_id& job, const std::vector<std::string>& paths) {
  std::string list;
  for (auto& path : paths) {
    std::ifstream in{path, std::ios::binary};
    if (!in)
      throw error{errc::invalid_config,
                  "cannot read code library '" + path + "'"};
    std::string bytes{std::istreambuf_iterator<char>{in},
                      std::istreambuf_iterator<char>{}};
    if (bytes.size() < 4 || bytes.compare(0, 4, "\x7f" "ELF") != 0)
      throw error{errc::invalid_config,
                  "code library '" + path + "' is not a shared object"};
    auto hash = content_hash(bytes);
    {
      std::lock_guard<std::mutex> guard{loaded_mtx};
      loaded_hashes.insert(hash);
    }
    // Content-hashed: a library shared by many jobs is stored once.
    bool found = false;
    get_row(sys, gcs, "code/" + hash, found);
    if (!found)
      put_row(sys, gcs, "code/" + hash, std::move(bytes));
    auto slash = path.rfind('/');
    list += hash + " "
            + (slash == std::string::npos ? path : path.substr(slash + 1))
            + "\n";
  }
  if (!list.empty())
    put_row(sys, gcs, job_key(job), std::move(list));
}

bool load_job_code(caf::actor_system& sys, const gcs_router& gcs,
                   const job_id& job) {
  // One thread loads at a time: others wait and then find the names.
  std::lock_guard<std::mutex> guard{loaded_mtx};
  if (loaded_jobs.count(job))
    return false;
  bool any = false;
  try {
    bool found = false;
    auto list = get_row(sys, gcs, job_key(job), found);
    std::istringstream in{list};
    std::string hash;
    std::string name;
    while (in >> hash >> name) {
      if (loaded_hashes.count(hash))
        continue;
      auto bytes = get_row(sys, gcs, "code/" + hash, found);
      if (!found)
        throw error{errc::not_found,
                    "code library " + name + " (" + hash + ") is not in the GCS"};
      const char* tmp = std::getenv("TMPDIR");
      auto path = fmt::format("{}/cafray-code-{}-{}-{}",
                              tmp && *tmp ? tmp : "/tmp", ::getpid(), hash,
                              name);
      {
        std::ofstream out{path, std::ios::binary | std::ios::trunc};
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out)
          throw error{errc::storage_error, "cannot write " + path};
      }
      try {
        open_library(path);
      } catch (...) {
        ::unlink(path.c_str());
        throw;
      }
      // The mapping outlives the file.
      ::unlink(path.c_str());
      loaded_hashes.insert(hash);
      any = true;
    }
    loaded_jobs[job] = true;
  } catch (const std::exception& e) {
    fmt::print(stderr, "[code] job {}: {}\n", to_string(job), e.what());
  }
  return any;
}

} // namespace cafray::detail
