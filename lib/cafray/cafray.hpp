#pragma once

/// The one header applications include: `#include <cafray/cafray.hpp>`.
#include "api/cafray.hpp"
