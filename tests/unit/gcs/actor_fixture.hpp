#pragma once

#include "../common/test_directory.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include "common/error.hpp"
#include "gcs/gcs_shard.hpp"
#include "proto/register_types.hpp"
#include "storage/memory_kv_store.hpp"

namespace cafray::test {

/// A memory store that counts its commits, to observe group commit.
class counting_store final : public kv_store {
public:
  struct counters {
    std::atomic<size_t> applies{0};
    std::atomic<size_t> rows{0};
  };

  counting_store() : counters_(std::make_shared<counters>()) {
  }

  std::shared_ptr<counters> stats() const {
    return counters_;
  }

  uint8_t table_count() const noexcept override {
    return inner_.table_count();
  }

  caf::error put(uint8_t table, const std::string& key,
                 const std::string& value) override {
    return inner_.put(table, key, value);
  }

  caf::expected<std::string> get(uint8_t table,
                                 const std::string& key) override {
    return inner_.get(table, key);
  }

  caf::error erase(uint8_t table, const std::string& key) override {
    return inner_.erase(table, key);
  }

  caf::expected<std::vector<kv_entry>>
  scan(uint8_t table, const std::string& prefix) override {
    return inner_.scan(table, prefix);
  }

  caf::error apply(const write_batch& batch) override {
    ++counters_->applies;
    counters_->rows += batch.size();
    return inner_.apply(batch);
  }

private:
  memory_kv_store inner_;
  std::shared_ptr<counters> counters_;
};

/// One actor system per test, and blocking helpers around the GCS protocol.
struct actor_fixture {
  static constexpr auto timeout = std::chrono::seconds(10);

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<caf::scoped_actor> self;

  actor_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    self = std::make_unique<caf::scoped_actor>(*sys);
  }

  ~actor_fixture() {
    self.reset();
    sys.reset();
  }

  /// Spawns a shard over `store`; the caller must `stop` it.
  gcs_actor spawn_shard(std::shared_ptr<kv_store> store,
                        gcs_shard_options options = {}) {
    return sys->spawn(gcs_shard, std::move(store), options);
  }

  /// Exits the shard and waits until it is gone.
  void stop(const gcs_actor& shard) {
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    (*self)->wait_for(shard);
  }

  caf::error put(const gcs_actor& shard, gcs_table table, std::string key,
                 std::string value) {
    caf::error result = make_error(errc::timeout);
    (*self)
      ->request(shard, timeout, caf::put_atom_v, static_cast<uint8_t>(table),
                std::move(key), std::move(value))
      .receive([&](ok_atom) { result = caf::none; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<std::string> get(const gcs_actor& shard, gcs_table table,
                                 std::string key) {
    caf::expected<std::string> result = make_error(errc::timeout);
    (*self)
      ->request(shard, timeout, caf::get_atom_v, static_cast<uint8_t>(table),
                std::move(key))
      .receive([&](std::string& value) { result = std::move(value); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<std::vector<kv_entry>>
  scan(const gcs_actor& shard, gcs_table table, std::string prefix) {
    caf::expected<std::vector<kv_entry>> result = make_error(errc::timeout);
    (*self)
      ->request(shard, timeout, scan_atom_v, static_cast<uint8_t>(table),
                std::move(prefix))
      .receive([&](std::vector<kv_entry>& rows) { result = std::move(rows); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::error erase(const gcs_actor& shard, gcs_table table, std::string key) {
    caf::error result = make_error(errc::timeout);
    (*self)
      ->request(shard, timeout, caf::delete_atom_v, static_cast<uint8_t>(table),
                std::move(key))
      .receive([&](ok_atom) { result = caf::none; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::error flush(const gcs_actor& shard) {
    caf::error result = make_error(errc::timeout);
    (*self)
      ->request(shard, timeout, caf::flush_atom_v)
      .receive([&](ok_atom) { result = caf::none; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Fire-and-forget batched write.
  void put_batch(const gcs_actor& shard, gcs_table table,
                 std::vector<kv_entry> rows) {
    caf::anon_send(shard, caf::put_atom_v, static_cast<uint8_t>(table),
                   std::move(rows));
  }
};

/// "key=value,..." for compact exact checks.
inline std::string render_rows(const std::vector<kv_entry>& rows) {
  std::string result;
  for (auto& row : rows)
    result += (result.empty() ? "" : ",") + row.key + "=" + row.value;
  return result;
}

} // namespace cafray::test
