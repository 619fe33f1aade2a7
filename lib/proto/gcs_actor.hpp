#pragma once

#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "proto/atoms.hpp"
#include "proto/messages.hpp"

namespace cafray {

/// One GCS shard: tables of string keys and serialized records, persisted in
/// its own LMDB environment. Tables are `gcs_table` values.
using gcs_actor = caf::typed_actor<
  // Writes one row; answers after the write is committed.
  caf::replies_to<put_atom, uint8_t, std::string, std::string>::with<ok_atom>,
  // Writes many rows of one table without an answer (batched, off the
  // critical path).
  caf::reacts_to<put_atom, uint8_t, std::vector<kv_entry>>,
  // Reads one row; fails with errc::not_found.
  caf::replies_to<get_atom, uint8_t, std::string>::with<std::string>,
  // Reads every row whose key starts with the prefix, in key order.
  caf::replies_to<scan_atom, uint8_t, std::string>::with<std::vector<kv_entry>>,
  // Removes one row; answers after the commit.
  caf::replies_to<delete_atom, uint8_t, std::string>::with<ok_atom>,
  // Notifies the subscriber with (notify_atom, table, key, value) on every
  // committed write of that key (and at once if the key exists).
  caf::reacts_to<subscribe_atom, uint8_t, std::string, caf::actor>,
  // Commits what is pending now; answers after the commit.
  caf::replies_to<flush_atom>::with<ok_atom>>;

} // namespace cafray
