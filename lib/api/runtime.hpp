#pragma once

#include <chrono>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "api/detail/args.hpp"
#include "api/errors.hpp"
#include "api/object_ref.hpp"
#include "common/runtime_config.hpp"

namespace cafray {

/// Starts the runtime. With no `address` in the config it starts the
/// embedded one-node cluster inside this process, on an actor system of its
/// own. A second call while running does nothing; after `shutdown()` it
/// starts a fresh runtime.
void init(const runtime_config& cfg = {});

/// Like `init(cfg)`, but runs on the caller's actor system. Call
/// `cafray::register_types(cfg)` on that system's config before creating it.
void init(caf::actor_system& sys, const runtime_config& cfg = {});

/// Stops every component, fails blocked `get`s with errc::shutting_down and
/// removes a temporary GCS directory. Does nothing if not running.
void shutdown();

bool initialized() noexcept;

/// No timeout.
constexpr caf::timespan forever = caf::timespan::max();

/// Stores a value in the object store.
template <class T>
object_ref<T> put(const T& value) {
  if constexpr (raw_codec<T>::value) {
    // Its bytes are the value: copied once, into the node's arena if this
    // process maps one.
    auto id = detail::put_raw(
      reinterpret_cast<const char*>(value.data()),
      value.size() * sizeof(typename T::value_type));
    if (!id.nil())
      return object_ref<T>{detail::own(id)};
  }
  return object_ref<T>{detail::own(detail::put_blob(encode<T>(value)))};
}

/// Blocks until the object exists; returns it or throws its error.
template <class T, class Rep = int64_t, class Period = std::nano>
T get(const object_ref<T>& ref,
      std::chrono::duration<Rep, Period> timeout = forever) {
  auto payloads = detail::fetch(
    {ref.id()}, std::chrono::duration_cast<caf::timespan>(timeout));
  if constexpr (std::is_void_v<T>) {
    if (payloads.front().failed())
      throw_payload_error(payloads.front());
  } else {
    return detail::decode_payload<T>(payloads.front());
  }
}

/// What `get` of many refs returns: the values, or nothing for void refs.
template <class T>
using get_all_result = std::conditional_t<std::is_void_v<T>, void,
                                          std::vector<T>>;

/// Blocks until all objects exist; returns them in input order or throws
/// the first error (void refs: only waits and throws).
template <class T, class Rep = int64_t, class Period = std::nano>
get_all_result<T> get(const std::vector<object_ref<T>>& refs,
                      std::chrono::duration<Rep, Period> timeout = forever) {
  std::vector<object_id> ids;
  ids.reserve(refs.size());
  for (auto& ref : refs)
    ids.push_back(ref.id());
  auto payloads = detail::fetch(
    ids, std::chrono::duration_cast<caf::timespan>(timeout));
  if constexpr (std::is_void_v<T>) {
    for (auto& payload : payloads)
      if (payload.failed())
        throw_payload_error(payload);
  } else {
    std::vector<T> result;
    result.reserve(payloads.size());
    for (auto& payload : payloads)
      result.emplace_back(detail::decode_payload<T>(payload));
    return result;
  }
}

/// Waits until `num_returns` of the objects exist or the timeout passed.
/// As in Ray, `ready` holds at most `num_returns` refs (the first ready ones
/// in input order); everything else is in `unready`. Both keep the input
/// order.
template <class T, class Rep = int64_t, class Period = std::nano>
wait_result<T> wait(const std::vector<object_ref<T>>& refs,
                    size_t num_returns = 1,
                    std::chrono::duration<Rep, Period> timeout = forever) {
  std::vector<object_id> ids;
  ids.reserve(refs.size());
  for (auto& ref : refs)
    ids.push_back(ref.id());
  auto flags = detail::wait_ids(
    ids, num_returns, std::chrono::duration_cast<caf::timespan>(timeout));
  wait_result<T> result;
  for (size_t i = 0; i < refs.size(); ++i) {
    if (flags[i] && result.ready.size() < num_returns)
      result.ready.push_back(refs[i]);
    else
      result.unready.push_back(refs[i]);
  }
  return result;
}

/// The errors recorded in the GCS so far, oldest first.
std::vector<error_record> error_info();

/// The local object store's counters: objects held, their bytes, gets
/// waiting. Objects go when the last copy of their owner's ref does (and
/// every task reading them is done); refs that were serialized into values
/// or passed as ref-typed arguments keep their objects for the whole run.
/// Releases travel asynchronously, so a count may lag a dropped ref by a
/// moment.
store_stats object_store_stats();

} // namespace cafray
