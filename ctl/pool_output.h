#pragma once

// Writes pools and origin health as anteroomctl shows them: a table for people, or JSON
// (ctl/format.h) for scripts. Every function writes a complete document ending in '\n'.

#include <ostream>
#include <vector>

#include "anteroom/v1/pool.pb.h"
#include "anteroom/v1/sync.pb.h"
#include "ctl/format.h"

namespace anteroom::ctl {

// The pool's settings, defaults spelled out, then a table of its origins.
void PrintPool(const v1::Pool& pool, OutputFormat format, std::ostream& out);

// One line per pool (JSON: an array of pools).
void PrintPools(const std::vector<v1::Pool>& pools, OutputFormat format, std::ostream& out);

// One line per origin verdict (JSON: an array of verdicts).
void PrintOriginHealth(const std::vector<v1::OriginVerdict>& verdicts, OutputFormat format,
                       std::ostream& out);

}  // namespace anteroom::ctl
