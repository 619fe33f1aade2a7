#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cafray {

/// Everything that shapes a runtime. `init()` takes one; `caf-node` fills one
/// from its config file and command line (see config/reference.ini for the
/// keys, their defaults and meaning).
struct runtime_config {
  /// Cluster address (host:port) to join; empty starts the embedded runtime.
  /// A program calling `init` with an address is a driver of that cluster;
  /// `caf-node` with role "node" joins it as a node.
  std::string address;

  /// What this process is: "" (a program: embedded, or a driver if an
  /// address is given), "head" (the embedded runtime, open to nodes and
  /// drivers at host:port) or "node" (joins the head at `address`).
  std::string role;

  /// Host this process accepts cluster connections on (head and node).
  std::string host = "127.0.0.1";

  /// Port this process accepts cluster connections on; 0 picks a free one
  /// (a node's default; a head needs a known port).
  uint16_t port = 0;

  /// Driver in cluster mode: shared libraries holding the job's remote
  /// functions and actor classes. They are loaded here, stored in the GCS,
  /// and loaded by every node that runs the job's tasks. The environment
  /// variable CAFRAY_CODE (colon-separated paths) adds to them.
  std::vector<std::string> code_libraries;

  /// Head and node: run tasks in worker processes (one per worker slot,
  /// started on demand, replaced when they die) instead of threads of this
  /// process. Actors stay in this process.
  bool worker_processes = true;

  /// The program a head or node starts as its worker processes, with
  /// arguments `worker --agent HOST:PORT --index N`; empty: this process's
  /// own executable (right for caf-node).
  std::string worker_executable;

  /// Set by `caf-node worker` for the worker slot it runs.
  uint32_t worker_index = 0;

  /// Set by `caf-node worker --actor HI:LO`: the process hosts this actor
  /// and nothing else (each actor of a cluster gets a process of its own).
  std::string worker_actor;

  /// Cluster mode: a node sends tasks to the global scheduler once this
  /// many are queued or running on it and other nodes exist; 0 uses four
  /// per CPU.
  uint32_t spill_backlog = 0;

  /// CPUs this node offers; 0 detects the machine's.
  uint32_t num_cpus = 0;

  /// Custom resources this node offers, in whole units, e.g. {"gpu", 1}.
  std::map<std::string, int64_t> resources;

  /// Workers started at init; 0 means one per CPU.
  uint32_t num_workers = 0;

  /// Most workers alive at once (blocked workers lend their CPU to new ones).
  uint32_t max_workers = 64;

  /// A driver of a cluster leases idle worker processes of its node and
  /// sends its plain tasks (inline arguments, the default demand of one
  /// CPU) to them directly, over connections of its own (Ray's direct task
  /// transport); false sends every task through the node's raylet.
  bool direct_tasks = true;

  /// Values up to this many bytes travel inline in messages.
  uint64_t inline_threshold = 100 * 1024;

  /// Capacity of a head's or node's shared-memory object arena in MiB (its
  /// large objects; worker processes and drivers on the machine map it); 0
  /// means 30% of the machine's memory. Unused by the embedded runtime.
  uint64_t object_store_mb = 0;

  /// Number of GCS shards.
  uint32_t gcs_shards = 1;

  /// Replicas per GCS shard. 1 keeps each shard one actor over one LMDB
  /// environment (the fast path); more make each shard a chain of that many
  /// replicas (chain replication: it survives the loss of all but one).
  uint32_t gcs_replicas = 1;

  /// Directory of the GCS's LMDB files; empty: a temporary directory removed
  /// at shutdown. A configured directory survives restarts.
  std::string gcs_directory;

  /// Initial LMDB map size per shard, in MiB; it grows up to the maximum.
  uint64_t gcs_map_size_mb = 64;

  /// Largest LMDB map per shard, in MiB; past it writes fail with gcs_full.
  uint64_t gcs_max_map_size_mb = 16384;

  /// Longest time a GCS write waits for its batch to commit, in µs.
  uint64_t gcs_flush_interval_us = 2000;

  /// Lineage compaction: finished task records beyond this many are dropped
  /// from the GCS, oldest lineage segment first; 0 keeps them all.
  uint64_t gcs_lineage_max_tasks = 0;

  /// Lineage compaction: segments of finished task records older than this
  /// many seconds are dropped from the GCS; 0 keeps them all.
  uint64_t gcs_lineage_max_age_s = 0;

  /// Raylet heartbeat interval in ms.
  uint64_t heartbeat_interval_ms = 100;

  /// A node that gets SIGTERM drains: it takes no new work, hands its
  /// queued tasks to the global scheduler and lets its running tasks
  /// finish for at most this many ms before it leaves.
  uint64_t drain_timeout_ms = 5000;

  /// CAF scheduler threads; 0 uses the machine's core count.
  uint32_t scheduler_threads = 0;

  /// CAF scheduler policy of the runtime's own actor system: "yielding"
  /// (work stealing; idle threads poll for 50 us, yielding the core between
  /// polls, then sleep until woken), "stealing" (CAF's own: threads poll
  /// in a tight loop, then sleep in short steps) or "sharing" (one queue;
  /// threads sleep at once).
  std::string scheduler_policy = "yielding";

  /// Default `max_retries` of tasks.
  int32_t default_max_retries = 3;
};

} // namespace cafray
