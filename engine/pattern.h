// Compiled .ndb hex pattern (owned by the signatures work; placeholder until it lands).
#pragma once
namespace flscan::sig {
class Pattern {};
}  // namespace flscan::sig
