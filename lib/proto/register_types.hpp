#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/type_id.hpp>

#include "proto/cluster_actor.hpp"
#include "proto/gcs_actor.hpp"
#include "proto/gcs_chain_actor.hpp"
#include "proto/messages.hpp"
#include "proto/object_store_actor.hpp"
#include "proto/raylet_actor.hpp"
#include "proto/scheduler_actor.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(cafray, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(cafray, (cafray::job_id))
  CAF_ADD_TYPE_ID(cafray, (cafray::task_id))
  CAF_ADD_TYPE_ID(cafray, (cafray::actor_id))
  CAF_ADD_TYPE_ID(cafray, (cafray::node_id))
  CAF_ADD_TYPE_ID(cafray, (cafray::object_id))
  CAF_ADD_TYPE_ID(cafray, (cafray::blob))
  CAF_ADD_TYPE_ID(cafray, (cafray::error_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::object_payload))
  CAF_ADD_TYPE_ID(cafray, (cafray::task_arg))
  CAF_ADD_TYPE_ID(cafray, (cafray::task_spec))
  CAF_ADD_TYPE_ID(cafray, (cafray::task_assignment))
  CAF_ADD_TYPE_ID(cafray, (cafray::task_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::object_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::node_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::job_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::function_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::actor_record))
  CAF_ADD_TYPE_ID(cafray, (cafray::kv_entry))
  CAF_ADD_TYPE_ID(cafray, (cafray::load_report))
  CAF_ADD_TYPE_ID(cafray, (cafray::store_stats))
  CAF_ADD_TYPE_ID(cafray, (cafray::resource_map))
  CAF_ADD_TYPE_ID(cafray, (std::vector<uint8_t>))
  // Containers that handlers take or return: without an ID CAF serializes
  // a message holding one as an empty message (it only logs an error).
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::object_id>))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::object_payload>))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::kv_entry>))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::task_spec>))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::task_id>))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::task_assignment>))
  CAF_ADD_TYPE_ID(cafray, (cafray::gcs_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::object_store_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::object_listener_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::raylet_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::worker_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::actor_host_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::core_worker_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::scheduler_actor))
  // Chain replication of a GCS shard (proto/gcs_chain_actor.hpp).
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_write_batch))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_read_request))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_answers))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_forward))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_ack))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_sync))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_snapshot_chunk))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_configuration))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_lease))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_snapshot_request))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_cancel_join))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_retire))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_heartbeat))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_joined))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_announce))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_replica_status))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_read_result))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_write_batches))
  CAF_ADD_TYPE_ID(cafray, (cafray::wire::chain_answer_batches))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::wire::chain_write>))
  CAF_ADD_TYPE_ID(cafray, (cafray::gcs_replica_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::gcs_coordinator_actor))
  CAF_ADD_TYPE_ID(cafray, (cafray::gcs_chain_client_actor))
  // Cluster mode (proto/cluster_actor.hpp).
  CAF_ADD_TYPE_ID(cafray, (cafray::store_peer))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::store_peer>))
  CAF_ADD_TYPE_ID(cafray, (cafray::member_info))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::member_info>))
  CAF_ADD_TYPE_ID(cafray, (cafray::cluster_welcome))
  CAF_ADD_TYPE_ID(cafray, (cafray::node_status))
  CAF_ADD_TYPE_ID(cafray, (cafray::cluster_status))
  // The node's shared-memory arena (proto/object_store_actor.hpp).
  CAF_ADD_TYPE_ID(cafray, (cafray::arena_info))
  CAF_ADD_TYPE_ID(cafray, (cafray::arena_objects))
  CAF_ADD_TYPE_ID(cafray, (cafray::cluster_actor))
  // Actors in worker processes of their own (proto/raylet_actor.hpp).
  CAF_ADD_TYPE_ID(cafray, (cafray::actor_location))
  // A node leaving on SIGTERM (proto/raylet_actor.hpp).
  CAF_ADD_TYPE_ID(cafray, (cafray::drain_report))
  // Worker leases for direct task submission (proto/raylet_actor.hpp).
  CAF_ADD_TYPE_ID(cafray, (cafray::worker_lease))
  CAF_ADD_TYPE_ID(cafray, (std::vector<cafray::worker_lease>))
CAF_END_TYPE_ID_BLOCK(cafray)

namespace cafray {

/// Registers every caf-ray message type and the error category with CAF.
/// Every binary, test fixture and host application calls this once on its
/// config before creating the actor system.
void register_types(caf::actor_system_config& cfg);

} // namespace cafray
