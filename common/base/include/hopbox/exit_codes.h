// The exit codes of hopbox, hopboxd and hopbox-ca: one table for the three programs, so that a
// script tells a typo from a refusal from a server that is down. Documented in docs/exit-codes.md.
#pragma once

namespace hopbox::exit_code {

inline constexpr int kOk = 0;
// Failed (a token, a file, a crash), or not done yet: an approval still awaited.
inline constexpr int kFailed = 1;
// The command line is wrong: unknown command or option, missing argument, exclusive options.
inline constexpr int kUsage = 2;
// Refused by the service or the CA, or what was named does not exist there.
inline constexpr int kRefused = 3;
// An integrity check failed: something sent or stored was altered or damaged.
inline constexpr int kIntegrity = 4;
// The service or the CA could not be reached.
inline constexpr int kUnavailable = 5;

}  // namespace hopbox::exit_code
