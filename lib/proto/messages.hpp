#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "common/ids.hpp"
#include "proto/blob.hpp"

namespace cafray {

/// Resource demand or capacity, in milli-units (1000 = one CPU) so that no
/// floating point crosses the wire.
using resource_map = std::map<std::string, int64_t>;

/// What went wrong with a task or an object; also a row of the GCS errors
/// table.
struct error_record {
  uint8_t code = 0;          // cafray::errc
  task_id task;
  std::string function;      // registered function or Class::method
  std::string type_name;     // demangled exception type, if any
  std::string message;
  int64_t time_ns = 0;       // wall clock, ns since the epoch
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_record& x) {
  return f(caf::meta::type_name("error_record"), x.code, x.task, x.function,
           x.type_name, x.message, x.time_ns);
}

/// The content of an object: a serialized value, or the error that took its
/// place.
struct object_payload {
  blob data;               // Boost.Serialization binary archive of the value
  uint8_t error_code = 0;  // cafray::errc; 0 means `data` holds a value
  error_record error;

  bool failed() const noexcept {
    return error_code != 0;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, object_payload& x) {
  return f(caf::meta::type_name("object_payload"), x.data, x.error_code,
           x.error);
}

/// How an argument reaches a task.
enum class arg_kind : uint8_t {
  value = 0,     // inline serialized value
  resolved = 1,  // object ID, replaced by its value before the call
};

struct task_arg {
  uint8_t kind = 0;  // arg_kind
  object_id ref;
  blob value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_arg& x) {
  return f(caf::meta::type_name("task_arg"), x.kind, x.ref, x.value);
}

/// What kind of work a spec describes.
enum class task_kind : uint8_t {
  normal = 0,        // a remote function
  actor_create = 1,  // constructs a class-based actor
  actor_call = 2,    // a method call on a class-based actor
};

/// Everything needed to run (or re-run) a task: the lineage record.
struct task_spec {
  task_id id;
  job_id job;
  uint8_t kind = 0;         // task_kind
  std::string function;     // registered name (or Class::method)
  uint64_t signature = 0;   // hash of the argument types the caller used
  std::vector<task_arg> args;
  resource_map resources;
  int32_t max_retries = 3;
  std::string name;         // user-given label, for error_info and status
  task_id parent;
  actor_id actor;           // actor tasks only
  uint64_t seq = 0;         // per-caller sequence number of actor calls
  uint32_t num_returns = 1;

  object_id return_id(uint32_t index = 1) const {
    return object_id{id, index};
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_spec& x) {
  return f(caf::meta::type_name("task_spec"), x.id, x.job, x.kind, x.function,
           x.signature, x.args, x.resources, x.max_retries, x.name, x.parent,
           x.actor, x.seq, x.num_returns);
}

/// A task handed to a worker, with its resolved arguments (one payload per
/// argument, empty for inline values) and, if its submitter asked for it,
/// the core worker that takes its small result straight from the worker.
struct task_assignment {
  task_spec spec;
  std::vector<object_payload> resolved;
  caf::actor owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_assignment& x) {
  return f(caf::meta::type_name("task_assignment"), x.spec, x.resolved,
           x.owner);
}

/// Lifecycle of a task as recorded in the GCS.
enum class task_state : uint8_t {
  waiting = 0,   // arguments not ready
  ready = 1,     // queued for a worker
  running = 2,
  finished = 3,
  failed = 4,
  spilled = 5,   // handed to the global scheduler
};

/// A row of the GCS tasks table.
struct task_record {
  task_spec spec;
  uint8_t state = 0;  // task_state
  node_id node;
  int64_t updated_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_record& x) {
  return f(caf::meta::type_name("task_record"), x.spec, x.state, x.node,
           x.updated_ns);
}

/// A row of the GCS objects table.
struct object_record {
  object_id id;
  uint64_t size = 0;
  std::vector<node_id> locations;
  job_id owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, object_record& x) {
  return f(caf::meta::type_name("object_record"), x.id, x.size, x.locations,
           x.owner);
}

/// A row of the GCS nodes table.
struct node_record {
  node_id id;
  std::string address;  // host:port, empty in embedded mode
  resource_map total;
  resource_map available;
  bool alive = true;
  int64_t updated_ns = 0;
  bool draining = false;  // alive, but takes no new work (SIGTERM)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_record& x) {
  return f(caf::meta::type_name("node_record"), x.id, x.address, x.total,
           x.available, x.alive, x.updated_ns, x.draining);
}

/// A row of the GCS jobs table.
struct job_record {
  job_id id;
  std::string driver;  // free-form description of the driver process
  int64_t started_ns = 0;
  int64_t ended_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_record& x) {
  return f(caf::meta::type_name("job_record"), x.id, x.driver, x.started_ns,
           x.ended_ns);
}

/// A row of the GCS functions table.
struct function_record {
  std::string name;
  uint64_t signature = 0;
  std::string signature_text;  // human-readable parameter list
  job_id job;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, function_record& x) {
  return f(caf::meta::type_name("function_record"), x.name, x.signature,
           x.signature_text, x.job);
}

enum class actor_state : uint8_t {
  pending = 0,
  alive = 1,
  dead = 2,
};

/// A row of the GCS actors table.
struct actor_record {
  actor_id id;
  std::string class_name;  // registered class or behavior name
  std::string name;        // user-given name, empty if anonymous
  uint8_t state = 0;       // actor_state
  node_id node;
  uint32_t restarts = 0;
  job_id job;
  /// An actor in a worker process of its own: "host:port" where that
  /// process publishes it, and the process's pid; empty and 0 for an actor
  /// inside its node's process.
  std::string address;
  int32_t pid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_record& x) {
  return f(caf::meta::type_name("actor_record"), x.id, x.class_name, x.name,
           x.state, x.node, x.restarts, x.job, x.address, x.pid);
}

/// One key and value of a GCS table.
struct kv_entry {
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_entry& x) {
  return f(caf::meta::type_name("kv_entry"), x.key, x.value);
}

/// The GCS tables. Each is one LMDB database inside a shard's environment.
enum class gcs_table : uint8_t {
  nodes = 0,
  jobs = 1,
  functions = 2,
  tasks = 3,
  objects = 4,
  actors = 5,
  errors = 6,
  kv = 7,
  actor_names = 8,  // user-given actor name -> actor ID
};

constexpr uint8_t gcs_table_count = 9;

const char* to_string(gcs_table x);

/// What a raylet reports about itself on every heartbeat.
struct load_report {
  node_id node;
  resource_map total;
  resource_map available;
  uint64_t queued = 0;    // tasks waiting for resources or a worker
  uint64_t running = 0;
  uint64_t workers = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_report& x) {
  return f(caf::meta::type_name("load_report"), x.node, x.total, x.available,
           x.queued, x.running, x.workers);
}

/// What a raylet did while it drained (a node leaving on SIGTERM).
struct drain_report {
  uint64_t handed_back = 0;  // queued here, not started: to the scheduler
  uint64_t redirected = 0;   // arrived while draining: to the scheduler
  uint64_t finished = 0;     // ran to completion while draining
  uint64_t retried = 0;      // still running at the timeout: run elsewhere
  uint64_t failed = 0;       // still running at the timeout, no retries left
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_report& x) {
  return f(caf::meta::type_name("drain_report"), x.handed_back, x.redirected,
           x.finished, x.retried, x.failed);
}

/// A worker a raylet leased to a driver (Ray's worker lease): the driver
/// connects to `address` ("host:port", the worker process's task channel,
/// proto/task_channel.hpp), introduces itself with `token`, and sends the
/// worker tasks directly, until it closes the connection. The raylet
/// counts the worker busy, holding the lease's resources, meanwhile.
struct worker_lease {
  uint32_t worker = 0;
  uint64_t token = 0;
  std::string address;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_lease& x) {
  return f(caf::meta::type_name("worker_lease"), x.worker, x.token,
           x.address);
}

/// Counters of an object store.
struct store_stats {
  uint64_t objects = 0;
  uint64_t bytes = 0;
  uint64_t waiting_gets = 0;
  uint64_t arena_capacity = 0;  // the node's shared-memory arena; 0: none
  uint64_t arena_used = 0;      // bytes in its allocated regions
  uint64_t arena_pins = 0;      // pins held by processes reading in place
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_stats& x) {
  return f(caf::meta::type_name("store_stats"), x.objects, x.bytes,
           x.waiting_gets, x.arena_capacity, x.arena_used, x.arena_pins);
}

/// How a process on a store's node maps the node's shared-memory arena.
struct arena_info {
  std::string name;       // what shm_arena::attach takes
  uint64_t capacity = 0;
  uint64_t client = 0;    // the process's number in the store's pin books
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, arena_info& x) {
  return f(caf::meta::type_name("arena_info"), x.name, x.capacity, x.client);
}

/// The answer to a get of a process that maps the arena: objects in the
/// arena come as their place (offset and size, their payload's data empty)
/// and are pinned for the process; the rest as payloads with their bytes.
struct arena_objects {
  static constexpr uint64_t no_offset = ~uint64_t{0};
  std::vector<object_payload> payloads;
  std::vector<uint64_t> offsets;  // one per payload; no_offset: bytes inline
  std::vector<uint64_t> sizes;    // one per payload
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, arena_objects& x) {
  return f(caf::meta::type_name("arena_objects"), x.payloads, x.offsets,
           x.sizes);
}

} // namespace cafray
