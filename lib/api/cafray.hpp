#pragma once

/// Everything an application needs: init/shutdown, remote functions, actors
/// (class-based and typed behaviors), put/get/wait, zero-copy views of arrays
/// and error_info.

#include "api/actor.hpp"
#include "api/behavior.hpp"
#include "api/errors.hpp"
#include "api/object_ref.hpp"
#include "api/remote.hpp"
#include "api/runtime.hpp"
#include "api/view.hpp"
#include "proto/register_types.hpp"
