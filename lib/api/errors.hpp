#pragma once

#include <stdexcept>
#include <string>

#include <caf/error.hpp>

#include "common/error.hpp"
#include "proto/messages.hpp"

namespace cafray {

/// Base of every exception caf-ray throws; `code()` tells what happened.
class error : public std::runtime_error {
public:
  error(errc code, const std::string& what)
    : std::runtime_error(what), code_(code) {
  }

  errc code() const noexcept {
    return code_;
  }

private:
  errc code_;
};

/// A task or actor call failed: carries the remote function's name, the
/// exception's type name and message as recorded where it ran.
class task_error : public error {
public:
  explicit task_error(error_record rec);

  const std::string& function() const noexcept {
    return rec_.function;
  }
  const std::string& exception_type() const noexcept {
    return rec_.type_name;
  }
  const std::string& message() const noexcept {
    return rec_.message;
  }
  const task_id& task() const noexcept {
    return rec_.task;
  }
  const error_record& record() const noexcept {
    return rec_;
  }

private:
  error_record rec_;
};

/// The actor a call went to is dead (killed, or its host stopped).
class actor_died_error : public task_error {
public:
  using task_error::task_error;
};

/// A `get` or `wait` ran out of time.
class timeout_error : public error {
public:
  explicit timeout_error(const std::string& what)
    : error(errc::timeout, what) {
  }
};

/// Throws the exception that matches a failed payload.
[[noreturn]] void throw_payload_error(const object_payload& payload);

/// Throws the exception that matches a CAF error.
[[noreturn]] void throw_error(const caf::error& err);

} // namespace cafray
