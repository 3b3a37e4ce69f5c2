// hopbox: the device client.
//
// Every command works on one device's state directory (--state, or $HOPBOX_STATE, or the
// configuration `hopbox setup` wrote: $HOPBOX_CONFIG or ~/.config/hopbox/config.json). The token
// PIN comes from --pin-file or $HOPBOX_PIN, else it is asked on the terminal (not echoed).
// --json prints machine-readable output. Exit codes: hopbox/exit_codes.h (docs/exit-codes.md);
// `get` stopped by SIGINT or SIGTERM exits 130 or 143, its partial file removed.
#include <fcntl.h>
#include <grpc/support/log.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "certs/certificate.h"
#include "cli_docs.h"
#include "client.h"
#include "client_internal.h"
#include "download_sink.h"
#include "hopbox/exit_codes.h"
#include "hopbox/version.h"
#include "inbox.h"
#include "mupre/hex.h"
#include "mupre/item.h"
#include "qr.h"
#include "token.h"

namespace {

namespace fs = std::filesystem;
namespace exit_code = hopbox::exit_code;
using hopbox::Client;
using hopbox::ClientError;
using nlohmann::json;

const std::string kPinHelp = "set HOPBOX_PIN or pass --pin-file FILE";

struct Globals {
  std::string state;
  std::string pin_file;
  bool json = false;
  bool quiet = false;        // -q: errors only
  bool verbose = false;      // -v: also what the command talked to and how
  std::string config_state;  // the configuration's state folder (`hopbox setup`)
};

constexpr char kDefaultModule[] = "/usr/lib/softhsm/libsofthsm2.so";  // Debian's SoftHSM2

// The configuration `hopbox setup` writes: $HOPBOX_CONFIG, else ~/.config/hopbox/config.json.
fs::path config_path() {
  if (const char* c = std::getenv("HOPBOX_CONFIG"); c != nullptr && *c != '\0') return c;
  if (const char* h = std::getenv("HOME")) return fs::path(h) / ".config/hopbox/config.json";
  return {};
}

// What the configuration holds (an empty object when there is none); command-line options
// given win over it.
json read_config(const fs::path& path) {
  std::error_code ec;
  if (path.empty() || !fs::exists(path, ec)) return json::object();
  std::ifstream in(path);
  json j = json::parse(in, nullptr, false);
  if (!in || j.is_discarded() || !j.is_object()) {
    throw ClientError("the configuration " + path.string() + " is not a JSON object",
                      exit_code::kUsage);
  }
  return j;
}

std::string config_value(const json& config, const char* key) {
  const auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The PIN typed on the controlling terminal, not echoed. Read from /dev/tty, not standard
// input, which may carry a file (`put -`) or answers.
std::string ask_pin() {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    throw ClientError("no token PIN, and no terminal to ask it on: " + kPinHelp, exit_code::kUsage);
  }
  termios before{};
  const bool is_tty = tcgetattr(fd, &before) == 0;
  if (is_tty) {
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the newline still shows: the next line starts clean
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  constexpr char kPrompt[] = "token PIN: ";
  [[maybe_unused]] const auto w = ::write(fd, kPrompt, sizeof kPrompt - 1);
  std::string p;
  char ch = 0;
  bool ended = false;
  while (::read(fd, &ch, 1) == 1) {
    if (ch == '\n' || ch == '\r') {
      ended = true;
      break;
    }
    p.push_back(ch);
  }
  if (is_tty) tcsetattr(fd, TCSAFLUSH, &before);
  ::close(fd);
  if (!ended && p.empty()) throw ClientError("no token PIN was typed", exit_code::kUsage);
  return p;
}

std::string pin(const Globals& g) {
  if (!g.pin_file.empty()) {
    errno = 0;
    std::ifstream in(g.pin_file);
    std::string p;
    if (!in || !std::getline(in, p)) {
      throw ClientError(
          "cannot read the PIN file " + g.pin_file +
              (errno != 0 ? std::string(": ") + std::strerror(errno) : ": it is empty"),
          2);
    }
    return p;
  }
  if (const char* p = std::getenv("HOPBOX_PIN")) return p;
  // Only when a person is there: a script without a PIN fails at once instead of hanging.
  if (isatty(STDIN_FILENO) != 0) return ask_pin();
  throw ClientError("no token PIN, and standard input is not a terminal to ask it on: " + kPinHelp,
                    2);
}

fs::path state_dir(const Globals& g) {
  if (!g.state.empty()) return g.state;
  if (const char* s = std::getenv("HOPBOX_STATE")) return s;
  if (!g.config_state.empty()) return g.config_state;
  if (const char* h = std::getenv("HOME")) return fs::path(h) / ".local/share/hopbox";
  throw ClientError("no state directory: pass --state or set HOPBOX_STATE", exit_code::kUsage);
}

// --json prints the answer even with -q: a script asked for it; -q hides the text only.
void emit(const Globals& g, const json& j, const std::string& text) {
  if (g.json) {
    std::cout << j.dump() << "\n";
  } else if (!text.empty() && !g.quiet) {
    std::cout << text << "\n";
  }
}

// -v: where this device's commands go and how its keys are vouched for, on standard error
// (standard output stays the command's). Nothing secret: addresses, files, ids, lengths.
void describe_device(const Globals& g, const fs::path& dir) {
  if (!g.verbose || !hopbox::state_exists(dir)) return;
  const hopbox::DeviceState s = hopbox::load_state(dir);
  std::size_t chain = 0;
  if (const auto bytes = mupre::from_hex(s.certificate_chain); bytes && !bytes->empty()) {
    try {
      chain = hopbox::certs::decode_chain(*bytes).size();
    } catch (const std::exception&) {
      chain = 0;  // reported as unknown; the command itself checks the chain
    }
  }
  std::cerr << "hopbox: state " << dir.string() << "\n"
            << "hopbox: service " << s.server << " (TLS anchor " << s.server_ca << ")\n"
            << "hopbox: CA " << (s.ca.empty() ? "none (keys not verified)" : s.ca)
            << (s.ca_root.empty() ? "" : " (root " + s.ca_root + ")") << "\n"
            << "hopbox: account " << s.user << ", device " << s.device_id << " \"" << s.device_name
            << "\", keys in "
            << (s.module == "software" ? "the software keystore"
                                       : "token \"" + s.token_label + "\"")
            << "\n";
  if (chain > 0) {
    std::cerr << "hopbox: certificate chain of " << chain << " certificate(s) to the CA root ("
              << (chain == 1 ? "the primary" : "a secondary, certified by the primary") << ")\n";
  }
}

// A new token's security-officer PIN when none is given: 16 random hexadecimal digits.
std::string random_pin() {
  unsigned char raw[8];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    throw ClientError("no randomness for the security-officer PIN");
  }
  std::string out;
  constexpr char kHex[] = "0123456789abcdef";
  for (const unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// "512 B", "1.2 MiB": a size for a person (binary units, one decimal).
std::string human_bytes(std::uint64_t n) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

// "2026-11-27 18:03": a moment in the local time zone, sortable like ISO 8601.
std::string local_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &local);
  return buf;
}

// The plaintext size of an item whose framed payload (what the service counts) is `payload`
// bytes: every chunk adds a length prefix and a tag. hopbox's put always uses the default chunk
// size, which the listing does not carry.
std::uint64_t plaintext_size(std::int64_t payload) {
  if (payload <= 0) return 0;
  const auto p = static_cast<std::uint64_t>(payload);
  constexpr std::uint64_t kFrame = mupre::kDefaultChunkSize + mupre::kChunkOverhead;
  const std::uint64_t chunks = (p + kFrame - 1) / kFrame;
  const std::uint64_t overhead = chunks * mupre::kChunkOverhead;
  return p > overhead ? p - overhead : 0;
}

// What a share reaches, for a person: "all items", "folder NAME", "items a, b".
std::string share_scope_text(const hopbox::v1::AccessPolicy& p) {
  switch (p.scope()) {
    case hopbox::v1::AccessPolicy::SCOPE_FOLDER:
      return "folder " + p.folder();
    case hopbox::v1::AccessPolicy::SCOPE_LISTED_ITEMS: {
      std::string text = p.item_ids_size() == 1 ? "item " : "items ";
      for (int i = 0; i < p.item_ids_size(); ++i) text += (i > 0 ? ", " : "") + p.item_ids(i);
      return text;
    }
    default:
      return "all items";
  }
}

std::string share_scope_name(const hopbox::v1::AccessPolicy& p) {
  switch (p.scope()) {
    case hopbox::v1::AccessPolicy::SCOPE_FOLDER:
      return "folder";
    case hopbox::v1::AccessPolicy::SCOPE_LISTED_ITEMS:
      return "listed-items";
    default:
      return "all-items";
  }
}

std::string rekey_kind_name(hopbox::v1::ReKeyKind k) {
  switch (k) {
    case hopbox::v1::REKEY_KIND_SHARE:
      return "share";
    case hopbox::v1::REKEY_KIND_OWN_DEVICE:
      return "own-device";
    case hopbox::v1::REKEY_KIND_RECOVERY:
      return "recovery";
    default:
      return "unknown";
  }
}

// What a recovery did, for `recover` of every kind.
json recovery_report(const hopbox::Client::RecoveryReport& r) {
  json remade = json::array();
  for (const auto& e : r.remade) {
    json edge = {{"kind", rekey_kind_name(e.kind())}, {"to_user", e.to_user()}};
    // A recovery key opens everything: a scope is a share's alone.
    if (e.kind() == hopbox::v1::REKEY_KIND_SHARE) edge["scope"] = share_scope_name(e.policy());
    remade.push_back(std::move(edge));
  }
  return {{"lost_device", r.lost_device},
          {"devices_kept", r.devices_kept},
          {"devices_removed", r.devices_removed},
          {"devices_refused", r.devices_refused},
          {"threshold_refused", r.threshold_refused},
          {"shares_remade", r.shares_remade},
          {"recovery_keys_remade", r.recovery_keys_remade},
          {"remade", remade},
          {"items_unreadable", r.items_unreadable},
          {"items_pinned", r.items_pinned},
          {"recovery_users_dropped", r.recovery_users_dropped},
          {"threshold_dropped", r.threshold_dropped},
          {"threshold_kept", r.threshold_kept == 0 ? json(nullptr)
                                                   : json{{"threshold", r.threshold_kept},
                                                          {"users", r.threshold_users}}},
          {"edges_refused", r.edges_refused},
          {"items_refreshed", r.items_refreshed},
          {"users_notified", r.users_notified}};
}

// Whom the recovery gave access again, and what it refused: for the user to check.
std::string remade_text(const hopbox::Client::RecoveryReport& r) {
  std::string text;
  for (const auto& e : r.remade) {
    text += e.kind() == hopbox::v1::REKEY_KIND_SHARE
                ? "\n  made again: share with " + e.to_user() + " (" +
                      share_scope_text(e.policy()) + ")"
                : "\n  made again: recovery key for " + e.to_user();
  }
  if (r.edges_refused != 0) {
    text += "\n  " + std::to_string(r.edges_refused) +
            " listed share(s) or recovery key(s) were not made again: see the warnings above.";
  }
  if (r.items_unreadable != 0) {
    text += "\n  " + std::to_string(r.items_unreadable) +
            " item(s) are not authentic and stay unreadable: see the warnings above.";
  }
  if (r.items_pinned != 0) {
    text += "\n  " + std::to_string(r.items_pinned) +
            " item(s) left as the lost primary signed them: readable on this device only until "
            "refreshed (`hopbox refresh NAME`).";
  }
  for (const auto& u : r.recovery_users_dropped) {
    text += "\n  not kept: recovery user " + u +
            " (not named with --keep-recovery-user; ask again: `hopbox recovery add " + u + "`)";
  }
  if (r.threshold_kept != 0) {
    std::string users;
    for (const auto& u : r.threshold_users) users += (users.empty() ? "" : ", ") + u;
    text += "\n  made again: threshold recovery, any " + std::to_string(r.threshold_kept) + " of " +
            users;
  }
  if (r.threshold_dropped) {
    text +=
        "\n  not kept: the threshold recovery (not asked with --keep-threshold; set it up "
        "again: `hopbox recovery threshold`)";
  }
  return text;
}

// Columns padded to their widest cell, two spaces apart; the last one is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

// "0:42", "1:02:03": a duration for a person.
std::string human_duration(std::uint64_t seconds) {
  char buf[32];
  if (seconds >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu",
                  static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60),
                  static_cast<unsigned long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  }
  return buf;
}

// A one-line progress display on the terminal, for transfers of more than a mebibyte: bytes,
// rate and time left. Redrawn at most four times a second (a redraw per 64 KiB chunk would
// flood a slow terminal), and once at the end.
hopbox::Client::Progress progress_bar(const Globals& g, const char* verb) {
  if (g.json || g.quiet || isatty(STDERR_FILENO) == 0) return {};
  using Clock = std::chrono::steady_clock;
  struct Shown {
    Clock::time_point start = Clock::now(), last;
    bool drawn = false, done = false;
  };
  auto shown = std::make_shared<Shown>();
  return [verb, shown](std::uint64_t done, std::uint64_t total) {
    if (total < (1u << 20) || shown->done) return;
    const auto now = Clock::now();
    const bool end = done >= total;
    if (!end && shown->drawn && now - shown->last < std::chrono::milliseconds(250)) return;
    shown->last = now;
    shown->drawn = true;
    shown->done = end;
    const double seconds =
        std::max(std::chrono::duration<double>(now - shown->start).count(), 0.001);
    const double rate = static_cast<double>(done) / seconds;
    const std::uint64_t left_bytes = total - std::min(done, total);
    std::string line = std::string(verb) + " " + human_bytes(std::min(done, total)) + " of " +
                       human_bytes(total) + ", " + human_bytes(static_cast<std::uint64_t>(rate)) +
                       "/s";
    if (end) {
      line += ", done in " + human_duration(static_cast<std::uint64_t>(seconds + 0.5));
    } else if (rate > 0) {
      line += ", " +
              human_duration(static_cast<std::uint64_t>(static_cast<double>(left_bytes) / rate)) +
              " left";
    }
    // \r and erase to the end of the line: a shorter line leaves nothing of the previous one.
    std::fprintf(stderr, "\r%s\x1b[K%s", line.c_str(), end ? "\n" : "");
    std::fflush(stderr);
  };
}

struct NewDeviceArgs {
  hopbox::DeviceState base;
  bool software = false;

  // Either a token (module and label) or the software keystore.
  hopbox::DeviceState resolved() const {
    hopbox::DeviceState s = base;
    if (software) {
      if (!s.module.empty() || !s.token_label.empty()) {
        throw ClientError("--software-keystore and --module/--token exclude each other",
                          exit_code::kUsage);
      }
      s.module = "software";
      s.token_label = "software";
    } else if (s.module.empty() || s.token_label.empty()) {
      throw ClientError("give --module and --token (or --software-keystore)", exit_code::kUsage);
    }
    return s;
  }
};

constexpr char kSoftwareWarning[] =
    "WARNING: this device keeps its keys in a passphrase-protected file, not in a hardware "
    "token; anyone who copies the file can try passphrases offline.";

// required = false: the command checks them itself (`recover` needs them only with --via).
// Options the configuration (`hopbox setup`) gives are defaults, no longer required.
void add_new_device_options(CLI::App* cmd, NewDeviceArgs& a, const json& config,
                            bool required = true) {
  a.base.server = config_value(config, "server");
  a.base.server_ca = config_value(config, "server_ca");
  a.base.module = config_value(config, "module");
  a.base.ca = config_value(config, "ca");
  a.base.ca_root = config_value(config, "ca_root");
  cmd->add_option("--server", a.base.server, "the service, host:port")
      ->required(required && a.base.server.empty());
  cmd->add_option("--server-ca", a.base.server_ca, "PEM certificate the service's TLS chains to")
      ->required(required && a.base.server_ca.empty())
      ->check(CLI::ExistingFile);
  cmd->add_option("--module", a.base.module, "PKCS#11 module (e.g. libsofthsm2.so)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--token", a.base.token_label, "label of the token for this device");
  cmd->add_flag("--software-keystore", a.software,
                "no token: keep the keys in a passphrase-protected file (WEAKER)");
  cmd->add_option("--user", a.base.user, "the account's identifier")->required(required);
  cmd->add_option("--device-name", a.base.device_name, "a name for this device");
  cmd->add_option("--ca", a.base.ca, "the certification authority (hopbox-ca), host:port");
  cmd->add_option("--ca-root", a.base.ca_root,
                  "the CA's root.pem (device root and TLS certificate), from its operator")
      ->check(CLI::ExistingFile);
}

// Levenshtein distance: how many letters to insert, delete or change to go from a to b.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A command word that names no subcommand, and the closest one: CLI11 would only say that the
// argument was not expected. Global options that take a value are skipped with their value.
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return std::nullopt;
    if (arg.starts_with("-")) {
      if ((arg == "--state" || arg == "--pin-file" || arg == "--config") && i + 1 < argc) ++i;
      continue;
    }
    const auto subs = at->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return std::nullopt;  // a command's own arguments
    CLI::App* next = nullptr;
    std::string best;
    std::size_t best_distance = std::string::npos;
    for (CLI::App* s : subs) {
      if (s->get_name() == arg) next = s;
      const std::size_t d = edit_distance(arg, s->get_name());
      if (d < best_distance) {
        best_distance = d;
        best = s->get_name();
      }
    }
    if (next != nullptr) {
      at = next;
      continue;
    }
    const std::string where = at == &app ? "" : at->get_name() + " ";
    std::string message = "unknown command " + where + arg;
    // Within a third of the word: a typo, not another word.
    if (best_distance <= std::max<std::size_t>(2, arg.size() / 3)) {
      message += "; did you mean " + where + best + "?";
    } else {
      message += "; see `hopbox " + where + "--help`";
    }
    return message;
  }
  return std::nullopt;
}

// True when folder is `top` or below it ("" is everything).
bool in_folder(const std::string& folder, const std::string& top) {
  return top.empty() || folder == top || folder.rfind(top + "/", 0) == 0;
}

// put -r: every regular file under root, in folders named by its path under root's name.
void put_tree(const Globals& g, Client& c, const fs::path& root, const std::string& prefix,
              bool replace) {
  if (!fs::is_directory(root)) throw ClientError(root.string() + ": not a folder", 2);
  const auto top = hopbox::names::normalize_folder(prefix);
  if (!top) throw ClientError("\"" + prefix + "\" is not a folder", exit_code::kUsage);
  const fs::path base = fs::absolute(root).lexically_normal();
  const std::string base_name =
      (base.has_filename() ? base : base.parent_path()).filename().string();
  json j = json::array();
  std::string text;
  std::vector<fs::path> files;
  std::vector<std::string> skipped;
  for (const auto& e : fs::recursive_directory_iterator(base)) {
    // A symbolic link is not followed: planted in a tree, it would upload (and share) the
    // file it points to, e.g. a key outside the tree.
    if (e.is_symlink()) {
      skipped.push_back(e.path().string());
    } else if (e.is_regular_file()) {
      files.push_back(e.path());
    }
  }
  for (const auto& f : skipped) {
    if (!g.quiet) std::cerr << "hopbox: skipped " << f << ": a symbolic link is not followed\n";
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const fs::path rel = f.lexically_relative(base.has_filename() ? base : base.parent_path());
    const std::string under = rel.parent_path().generic_string();
    const std::string folder =
        hopbox::names::join(*top, under.empty() ? base_name : base_name + "/" + under);
    const auto r = c.put(f, f.filename().string(), folder, replace);
    const std::string path = hopbox::names::join(folder, f.filename().string());
    j.push_back({{"item", path}, {"id", r.item_id()}, {"version", r.version()}});
    text += "uploaded " + path + " (version " + std::to_string(r.version()) + ")\n";
  }
  if (!text.empty()) text.pop_back();
  emit(g, j, text);
}

// Items of others that could not be opened are skipped with a warning: one damaged item from a
// sharer (anyone may share with anyone) must not take the whole listing down.
void warn_skipped(const Globals& g, const std::vector<ClientError>& failures) {
  for (const auto& f : failures) {
    if (!g.quiet) std::cerr << "hopbox: skipped a shared item: " << f.what() << "\n";
  }
}

// True when `path` or a folder on the way to it below `root` exists as a symbolic link.
bool through_link(const fs::path& root, const fs::path& path) {
  fs::path at = root;
  for (const auto& part : path.lexically_relative(root)) {
    at /= part;
    if (fs::is_symlink(fs::symlink_status(at))) return true;
  }
  return false;
}

// get -r: every item in folder (and below) of owner, written under out/<the folder's last
// name>/ by its path below the folder, as put -r reads it. Nothing is overwritten and no link
// is followed: a sharer picks the names, and `.bashrc` or `.ssh/authorized_keys` are names.
void get_tree(const Globals& g, Client& c, const std::string& owner, const std::string& folder,
              const fs::path& out) {
  const auto top = hopbox::names::normalize_folder(folder);
  if (!top || top->empty()) throw ClientError("get -r: give a folder", exit_code::kUsage);
  const std::string who = owner.empty() ? c.state().user : owner;
  const fs::path root = out / fs::path(*top).filename();
  json j = json::array();
  std::string text;
  std::vector<ClientError> failures;
  std::set<std::string> written;
  const auto items = c.entries(who != c.state().user, &failures);
  warn_skipped(g, failures);
  int refused = 0;
  for (const auto& e : items) {
    if (e.owner != who || !in_folder(e.folder, *top)) continue;
    const std::string below = e.folder.size() > top->size() ? e.folder.substr(top->size() + 1) : "";
    const fs::path dest = root / fs::path(below) / e.name;
    const std::string path = hopbox::names::join(e.folder, e.name);
    std::string why;
    std::string folded = dest.string();
    std::transform(folded.begin(), folded.end(), folded.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (!written.insert(folded).second) {
      why = "another item of this download has that file name";
    } else if (through_link(out, dest)) {
      why = "a symbolic link is on the way; it is not followed";
    } else if (fs::exists(fs::symlink_status(dest))) {
      why = dest.string() + " exists; nothing is overwritten";
    }
    if (!why.empty()) {
      std::cerr << "hopbox: not writing " << path << ": " << why << "\n";
      ++refused;
      continue;
    }
    fs::create_directories(dest.parent_path());
    try {
      const auto got = c.get(e, dest);
      j.push_back({{"item", path}, {"file", got.file.string()}});
      text += "downloaded " + path + " to " + got.file.string() + "\n";
    } catch (const ClientError& err) {
      std::cerr << "hopbox: " << path << ": " << err.what() << "\n";
      ++refused;
    }
  }
  if (j.empty() && refused == 0) {
    throw ClientError("no items in folder " + *top + (owner.empty() ? "" : " of " + owner),
                      exit_code::kRefused);
  }
  if (!text.empty()) text.pop_back();
  emit(g, j, text);
  if (refused > 0) {
    throw ClientError(std::to_string(refused) + " item(s) of " + *top + " not written (see above)",
                      exit_code::kFailed);
  }
}

constexpr char kUncertifiedWarning[] =
    "WARNING: no CA configured (--ca): keys the service returns are not verified, so a "
    "dishonest service could substitute its own.";

}  // namespace

int main(int argc, char** argv) {
  // gRPC's own log lines (TLS handshakes, connection attempts) are not for the person at the
  // terminal: every failure reaches them as one "hopbox: ..." line that says what to do.
  gpr_set_log_function([](gpr_log_func_args*) {});
  CLI::App app{"hopbox: end-to-end encrypted storage with hardware-bound keys"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command too
  app.set_version_flag("--version", "hopbox " HOPBOX_VERSION);
  Globals g;
  json config;
  try {
    config = read_config(config_path());
  } catch (const ClientError& e) {
    std::cerr << "hopbox: " << e.what() << "\n";
    return e.exit_code();
  }
  g.config_state = config_value(config, "state");
  app.add_option("--state", g.state,
                 "this device's state directory ($HOPBOX_STATE; else the configuration's; else "
                 "~/.local/share/hopbox)");
  app.add_option("--pin-file", g.pin_file, "file holding the token PIN ($HOPBOX_PIN)");
  app.add_flag("--json", g.json, "machine-readable output");
  auto* quiet_flag =
      app.add_flag("-q,--quiet", g.quiet, "errors only (and warnings about security)");
  app.add_flag("-v,--verbose", g.verbose,
               "more detail: the service and CA used, the certificate and re-encryption chains")
      ->excludes(quiet_flag);
  // Defaults (server, server-ca, module, ...) may come from a TOML/INI file.
  app.set_config("--config", "", "read options from this file");

  NewDeviceArgs init_args;
  std::string enroll_code;
  auto* init = app.add_subcommand(
      "init",
      "create an account with this device as its primary (run again to finish one that failed "
      "after the CA certified it)");
  add_new_device_options(init, init_args, config);
  init->add_option("--enroll-code", enroll_code, "the one-time code from the CA's operator");
  auto* whoami = app.add_subcommand("whoami", "this device's identifier and safety number");

  // setup: the common case in one step. Its defaults are shown by --help.
  NewDeviceArgs setup_args;
  std::string setup_code, so_pin_file;
  setup_args.base.server = "127.0.0.1:7443";  // hopboxd's default --listen
  setup_args.base.module = kDefaultModule;
  setup_args.base.token_label = "hopbox";
  setup_args.base.device_name = "primary";
  auto* setup = app.add_subcommand(
      "setup",
      "in one step: make the token if there is none of that label (SoftHSM2), write the "
      "configuration later commands read ($HOPBOX_CONFIG, else ~/.config/hopbox/config.json), "
      "and create the account with this device as its primary (init)");
  setup->add_option("--user", setup_args.base.user, "the account's identifier")->required();
  setup->add_option("--server", setup_args.base.server, "the service, host:port")
      ->capture_default_str();
  setup
      ->add_option("--server-ca", setup_args.base.server_ca,
                   "PEM certificate the service's TLS chains to (hopboxd prints its path at "
                   "start-up: DATA-DIR/tls/cert.pem)")
      ->required()
      ->check(CLI::ExistingFile);
  setup->add_option("--module", setup_args.base.module, "PKCS#11 module")->capture_default_str();
  setup
      ->add_option("--token", setup_args.base.token_label,
                   "label of the token: used if it exists, else made")
      ->capture_default_str();
  setup->add_option("--device-name", setup_args.base.device_name, "a name for this device")
      ->capture_default_str();
  setup->add_option("--ca", setup_args.base.ca,
                    "the certification authority (hopbox-ca, e.g. 127.0.0.1:7444)");
  setup
      ->add_option("--ca-root", setup_args.base.ca_root,
                   "the CA's root.pem (device root and TLS certificate), from its operator")
      ->check(CLI::ExistingFile);
  setup->add_option("--enroll-code", setup_code, "the one-time code from the CA's operator");
  setup
      ->add_option("--so-pin-file", so_pin_file,
                   "a new token's security-officer PIN (default: random, not kept)")
      ->check(CLI::ExistingFile);

  auto* device = app.add_subcommand("device", "pair, approve and list devices");
  device->require_subcommand(1);
  device->fallthrough();
  NewDeviceArgs add_args;
  int wait_seconds = 0;
  auto* dev_add = device->add_subcommand("add", "make this a new device of an existing account");
  add_new_device_options(dev_add, add_args, config);
  dev_add->add_option("--wait", wait_seconds, "wait this long for the approval");
  auto* dev_status = device->add_subcommand("status", "whether this new device was approved");
  std::string code;
  bool yes = false;
  auto* dev_approve = device->add_subcommand("approve", "approve a new device's pairing code");
  dev_approve->add_option("code", code, "the code the new device shows (HBP1-...)")->required();
  dev_approve->add_flag("--yes", yes, "do not ask to compare the short code");
  auto* dev_list = device->add_subcommand("list", "this account's devices");
  std::int64_t remove_id = 0;
  auto* dev_remove = device->add_subcommand("remove", "remove a lost or retired device");
  dev_remove->add_option("id", remove_id, "the device's id (see `hopbox device list`)")->required();

  std::string file, name, folder, owner, out;
  bool replace = false, shared = false, recursive = false;
  auto* put = app.add_subcommand("put", "encrypt and upload a file");
  put->add_option("file", file, "the file, a folder with -r, or - for standard input")->required();
  put->add_option("--as", name, "the name to give it (default: the file's name)");
  put->add_option("--folder", folder, "the folder to put it in, '/'-separated (default: the top)");
  put->add_flag("--replace", replace, "replace an existing item of this name");
  put->add_flag("-r,--recursive", recursive,
                "upload a folder's tree (folders: relative paths under the folder's name)");
  auto* get = app.add_subcommand("get", "download and decrypt an item");
  get->add_option("name", name, "NAME, FOLDER/NAME or OWNER/FOLDER/NAME (as `ls` prints it)")
      ->required();
  get->add_option("--owner", owner, "the item's owner (default: this account)");
  get->add_option("-o,--output", out,
                  "file or folder to write it to, - for standard output (default: the item's "
                  "name, here)");
  get->add_flag("-r,--recursive", recursive,
                "download a folder's items and subfolders into -o DIR (default: here)");
  auto* ls = app.add_subcommand("ls", "list items");
  ls->add_option("folder", folder, "only this folder and its subfolders");
  ls->add_flag("--shared", shared, "include items shared with this account");
  auto* refresh = app.add_subcommand(
      "refresh",
      "re-encrypt an item's capsule for the primary key (shorter chains); payload unchanged");
  refresh->add_option("name", name, "item name")->required();
  auto* rm = app.add_subcommand("rm", "delete an item");
  rm->add_option("name", name, "item name")->required();

  std::string user;
  std::vector<std::string> items;
  std::int64_t expires_in = 0, rekey_id = 0;
  auto* share = app.add_subcommand("share", "let another user's devices read this account's items");
  share->add_option("user", user, "the other user")->required();
  share->add_option("--folder", folder, "only items in this folder");
  share->add_option("--item", items, "only these items (repeatable)");
  share->add_option("--expires-in", expires_in,
                    "seconds until the share expires, at least 1 (default: never)");
  bool share_yes = false;
  share->add_flag("--yes", share_yes, "do not ask to compare the safety number");
  auto* unshare = app.add_subcommand("unshare", "revoke a share");
  unshare->add_option("id", rekey_id, "the share's id (see `hopbox shares`)")->required();
  auto* shares = app.add_subcommand("shares", "the re-encryption keys this account made");

  std::string message;
  auto* request = app.add_subcommand("request-access", "ask another user for access");
  request->add_option("owner", owner, "the user who owns the data")->required();
  request->add_option("--item", name,
                      "one item, FOLDER/NAME; sealed so that only the owner reads it (default: "
                      "everything)");
  request->add_option("--message", message, "a note for the owner (the service can read it)");
  int wait_ms = 0;
  std::int64_t ack_id = 0;
  auto* inbox = app.add_subcommand("inbox", "notifications waiting for this device");
  inbox->add_option("--ack", ack_id, "acknowledge (remove) this notification");
  auto* watch = app.add_subcommand("watch", "answer access and pairing requests as they arrive");
  watch->add_option("--seconds", wait_ms, "how long to watch (default: until stopped)")
      ->check(CLI::Range(1, 24 * 3600 * 365));
  bool answer_yes = false, answer_no = false;
  auto* watch_yes = watch->add_flag("--yes", answer_yes, "grant every request without asking");
  watch->add_flag("--no", answer_no, "refuse every request without asking")->excludes(watch_yes);

  bool recover_yes = false, remove_others = false, no_refresh = false;
  std::vector<std::string> via;
  NewDeviceArgs recover_args;
  auto* recover = app.add_subcommand(
      "recover",
      "after losing the primary: make this secondary the primary (R1), or with --via, recover "
      "on a new device through recovery users (R2)");
  recover->add_flag("--yes", recover_yes, "do not ask for confirmation");
  recover->add_flag("--remove-other-devices", remove_others,
                    "remove the account's other devices instead of re-certifying them");
  recover->add_option("--via", via, "recovery users to ask (a new device; repeatable)");
  hopbox::Client::RebuildOptions rebuild;
  recover->add_flag("--no-refresh", no_refresh,
                    "leave the items' capsules as they are (refresh them later with `refresh`)");
  recover->add_option("--keep-recovery-user", rebuild.keep_recovery_users,
                      "keep this recovery user of the lost primary (repeatable); the others are "
                      "dropped, whatever the cloud lists");
  recover->add_flag("--keep-threshold", rebuild.keep_threshold,
                    "set the lost primary's threshold recovery (R3) up again, as it signed it");
  recover->add_option("--wait", wait_seconds, "wait this long for the approval (with --via)");
  add_new_device_options(recover, recover_args, config, false);

  auto* recovery =
      app.add_subcommand("recovery", "who protects this account, and whom you protect");
  recovery->require_subcommand(1);
  recovery->fallthrough();
  auto* recovery_add =
      recovery->add_subcommand("add", "ask another user to protect this account (R2)");
  recovery_add->add_option("user", user, "the recovery user")->required();
  auto* recovery_status = recovery->add_subcommand("status", "the recovery users of this account");
  auto* recovery_list =
      recovery->add_subcommand("list", "recoveries of this account in progress (waiting period)");
  std::int64_t cancel_device = 0;
  auto* recovery_cancel = recovery->add_subcommand(
      "cancel", "stop a recovery of this account in progress (all, or the one of --device)");
  recovery_cancel->add_option("--device", cancel_device, "the recovering device's id");
  auto* recovery_remove =
      recovery->add_subcommand("remove", "stop letting a recovery user recover this account");
  recovery_remove->add_option("user", user, "the recovery user")->required();
  std::string expected_code;
  auto* recovery_expect = recovery->add_subcommand(
      "expect",
      "vouch for the new device whose code USER read out to you, so that it can ask for "
      "recovery even when strangers fill the places");
  recovery_expect->add_option("user", user, "the user you protect")->required();
  recovery_expect->add_option("code", expected_code, "the 25-digit code of their new device")
      ->required();
  int threshold_count = 0;
  std::vector<std::string> threshold_users;
  auto* recovery_threshold = recovery->add_subcommand(
      "threshold",
      "let any T of these recovery users recover this account together, none alone (R3)");
  recovery_threshold->add_option("t", threshold_count, "how many must approve")->required();
  recovery_threshold->add_option("users", threshold_users, "the recovery users")->required();

  std::string shell;
  auto* completion = app.add_subcommand(
      "completion", "print a shell completion script (e.g. source <(hopbox completion bash))");
  completion->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  // For the build (hopbox.1 is made from this very command line), not for people: hidden.
  auto* help_man = app.add_subcommand("help-man", "print the manual page (roff)")->group("");
  std::string man_out;
  help_man->add_option("-o,--output", man_out, "write it to this file");

  if (const auto unknown = unknown_command(app, argc, argv)) {
    std::cerr << "hopbox: " << *unknown << "\n";
    return exit_code::kUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; any other parse error is a usage error (exit 2).
    return app.exit(e) == 0 ? exit_code::kOk : exit_code::kUsage;
  }
  rebuild.keep_devices = !remove_others;
  rebuild.refresh_items = !no_refresh;

  // Neither needs a device.
  if (completion->parsed()) {
    std::cout << (shell == "zsh" ? hopbox::zsh_completion(app) : hopbox::bash_completion(app));
    return exit_code::kOk;
  }
  if (help_man->parsed()) {
    const std::string page = hopbox::man_page(app, HOPBOX_VERSION);
    if (man_out.empty()) {
      std::cout << page;
    } else if (!(std::ofstream(man_out, std::ios::binary) << page)) {
      std::cerr << "hopbox: cannot write " << man_out << "\n";
      return exit_code::kFailed;
    }
    return exit_code::kOk;
  }
  try {
    const fs::path dir = state_dir(g);
    describe_device(g, dir);
    if (setup->parsed()) {
      const std::string p = pin(g);
      hopbox::DeviceState base = setup_args.base;
      if (!base.ca.empty() && (base.ca_root.empty() || setup_code.empty())) {
        throw ClientError("--ca needs --ca-root and --enroll-code", exit_code::kUsage);
      }
      if (hopbox::state_exists(dir)) {
        throw ClientError("this device is set up already (" + dir.string() +
                              "); to resume a set-up that failed, run `hopbox init`",
                          exit_code::kUsage);
      }
      const bool made = !hopbox::Token::exists(base.module, base.token_label);
      if (made) {
        std::string so_pin;
        if (!so_pin_file.empty()) {
          std::ifstream in(so_pin_file);
          if (!std::getline(in, so_pin) || so_pin.empty()) {
            throw ClientError("cannot read the PIN file " + so_pin_file, exit_code::kUsage);
          }
        } else {
          so_pin = random_pin();
        }
        hopbox::Token::initialize(base.module, base.token_label, so_pin, p);
        std::fill(so_pin.begin(), so_pin.end(), '\0');
      }
      // Absolute: later commands run from any folder.
      const auto absolute = [](const std::string& f) {
        return f.empty() ? f : fs::absolute(f).lexically_normal().string();
      };
      const json written = {{"server", base.server},
                            {"server_ca", absolute(base.server_ca)},
                            {"ca", base.ca},
                            {"ca_root", absolute(base.ca_root)},
                            {"module", absolute(base.module)},
                            {"token", base.token_label},
                            {"state", absolute(dir.string())}};
      const fs::path where = config_path();
      if (where.empty()) throw ClientError("no HOME: set HOPBOX_CONFIG", exit_code::kUsage);
      std::error_code ec;
      fs::create_directories(where.parent_path(), ec);
      hopbox::write_file_atomically(where, written.dump(2) + "\n");
      auto c = Client::init(dir, p, base, setup_code);
      if (!c->certified()) std::cerr << kUncertifiedWarning << "\n";
      const std::string number = c->own_safety_number();
      emit(g,
           {{"user", c->state().user},
            {"device_id", c->state().device_id},
            {"safety_number", number},
            {"token", base.token_label},
            {"token_created", made},
            {"config", where.string()},
            {"state", dir.string()}},
           std::string(made ? "made the token \"" + base.token_label +
                                  "\" (its security-officer PIN " +
                                  (so_pin_file.empty() ? "was random and is not kept"
                                                       : "is the one in " + so_pin_file) +
                                  ")\n"
                            : "using the token \"" + base.token_label + "\"\n") +
               "wrote " + where.string() + ": later commands use it\n" + "account " +
               c->state().user + " created; this device is its primary (device " +
               std::to_string(c->state().device_id) + ")" +
               (number.empty() ? "" : "; certified by the CA, safety number " + number));
    } else if (init->parsed()) {
      auto c = Client::init(dir, pin(g), init_args.resolved(), enroll_code);
      if (!c->hardware_bound()) std::cerr << kSoftwareWarning << "\n";
      if (!c->certified()) std::cerr << kUncertifiedWarning << "\n";
      const std::string number = c->own_safety_number();
      emit(g,
           {{"user", c->state().user},
            {"device_id", c->state().device_id},
            {"safety_number", number}},
           "account " + c->state().user + " created; this device is its primary (device " +
               std::to_string(c->state().device_id) + ")" +
               (number.empty() ? "" : "; certified by the CA, safety number " + number));
    } else if (whoami->parsed()) {
      auto c = Client::open(dir, pin(g));
      const std::string number = c->own_safety_number();
      const std::string device_number = c->device_safety_number();
      emit(g,
           {{"user", c->state().user},
            {"device_id", c->state().device_id},
            {"safety_number", number},
            {"device_safety_number", device_number}},
           c->state().user + " (device " + std::to_string(c->state().device_id) + ")" +
               (number.empty() ? ", not certified (no CA)" : ", safety number " + number) +
               (device_number == number
                    ? ""
                    : "\nthis device's own key (certified by the primary): " + device_number));
    } else if (dev_add->parsed()) {
      const bool created_dir = !fs::exists(dir);
      auto c = Client::prepare_device(dir, pin(g), add_args.resolved());
      if (!c->hardware_bound()) std::cerr << kSoftwareWarning << "\n";
      if (!c->certified()) std::cerr << kUncertifiedWarning << "\n";
      const std::string pairing = c->pairing_code();
      const std::string short_code = c->pairing_key_code(pairing);
      try {
        c->request_pairing();
      } catch (const ClientError& e) {
        // Nobody was asked: nothing may block the retry (no keys, no state).
        c->discard(created_dir);
        throw ClientError(std::string(e.what()) + " (nothing was kept: the new keys were deleted)",
                          e.exit_code());
      }
      emit(g, {{"pairing_code", pairing}, {"short_code", short_code}},
           "Approve this device on " + c->state().user +
               "'s primary device: `hopbox watch` there shows the request, or scan or copy " +
               "the code into `hopbox device approve`:\n\n" + hopbox::terminal_qr(pairing) + "\n" +
               pairing + "\n\nBoth devices must show the code " + short_code + ".");
      for (int i = 0; i < wait_seconds * 2 && !c->complete_pairing(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
      if (wait_seconds > 0) {
        if (!c->complete_pairing()) throw ClientError("not approved in time", exit_code::kFailed);
        emit(g, {{"device_id", c->state().device_id}}, "approved: this device is ready");
      }
    } else if (dev_status->parsed()) {
      auto c = Client::open(dir, pin(g));
      const bool ok = c->complete_pairing();
      emit(g, {{"approved", ok}, {"device_id", c->state().device_id}},
           ok ? "approved (device " + std::to_string(c->state().device_id) + ")"
              : "waiting for approval");
      if (!ok) return exit_code::kFailed;
    } else if (dev_approve->parsed()) {
      auto c = Client::open(dir, pin(g));
      const std::string short_code = c->pairing_key_code(code);
      if (!yes) {
        std::cout << "The new device must show the code " << short_code << ". Approve it? [y/N] "
                  << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes") {
          throw ClientError("not approved", exit_code::kFailed);
        }
      }
      const auto id = c->approve(code);
      emit(g, {{"device_id", id}, {"short_code", short_code}},
           "device " + std::to_string(id) + " approved");
    } else if (dev_list->parsed()) {
      auto c = Client::open(dir, pin(g));
      json j = json::array();
      std::string text;
      for (const auto& d : c->devices()) {
        j.push_back({{"device_id", d.device_id()}, {"name", d.name()}, {"primary", d.primary()}});
        text += std::to_string(d.device_id()) + "  " + d.name() +
                (d.primary() ? "  (primary)" : "") +
                (d.device_id() == c->state().device_id ? "  <- this device" : "") + "\n";
      }
      emit(g, j, text);
    } else if (dev_remove->parsed()) {
      Client::open(dir, pin(g))->remove_device(remove_id);
      emit(g, {{"removed", remove_id}},
           "device " + std::to_string(remove_id) + " removed: it can no longer read anything");
    } else if (put->parsed() && recursive) {
      put_tree(g, *Client::open(dir, pin(g)), file, folder, replace);
    } else if (put->parsed()) {
      auto c = Client::open(dir, pin(g));
      hopbox::v1::UploadResponse r;
      if (file == "-") {
        if (name.empty()) throw ClientError("put -: give the name with --as", exit_code::kUsage);
        std::ios::sync_with_stdio(false);
        r = c->put_from(
            [](std::uint8_t* buf, std::size_t size) {
              std::cin.read(reinterpret_cast<char*>(buf), static_cast<std::streamsize>(size));
              if (std::cin.bad()) throw ClientError("error reading standard input");
              return static_cast<std::size_t>(std::cin.gcount());
            },
            std::nullopt, name, folder, replace, progress_bar(g, "uploading"));
      } else {
        if (!fs::is_regular_file(file)) {
          throw ClientError(file + ": not a file (a folder takes -r)", exit_code::kUsage);
        }
        r = c->put(file, name, folder, replace, progress_bar(g, "uploading"));
      }
      if (name.empty()) name = fs::path(file).filename().string();
      const std::string path = hopbox::names::join(*hopbox::names::normalize_folder(folder), name);
      emit(g, {{"item", path}, {"id", r.item_id()}, {"version", r.version()}},
           "uploaded " + path + " (version " + std::to_string(r.version()) + ")");
    } else if (get->parsed() && recursive) {
      hopbox::remove_partial_on_signals();
      get_tree(g, *Client::open(dir, pin(g)), owner, name, out.empty() ? "." : out);
    } else if (get->parsed()) {
      hopbox::remove_partial_on_signals();
      auto c = Client::open(dir, pin(g));
      const auto got = c->get(owner, name, out, progress_bar(g, "downloading"));
      if (g.verbose) {
        std::cerr << "hopbox: the service re-encrypted the item's key along a chain of "
                  << got.reencryptions << " re-encryption key(s) to this device\n";
      }
      const std::string shown =
          got.owner == c->state().user ? got.path : got.owner + "/" + got.path;
      const json j = {{"item", got.path},
                      {"owner", got.owner},
                      {"file", got.file.string()},
                      {"reencryptions", got.reencryptions}};
      const std::string text = "downloaded " + shown + " to " +
                               (got.file == "-" ? "standard output" : got.file.string()) + " (" +
                               std::to_string(got.reencryptions) + " re-encryptions)";
      if (got.file == "-") {
        // Standard output holds the item: the report goes to standard error.
        if (g.json || !g.quiet) std::cerr << (g.json ? j.dump() : text) << "\n";
      } else {
        emit(g, j, text);
      }
    } else if (ls->parsed()) {
      auto c = Client::open(dir, pin(g));
      const auto only = hopbox::names::normalize_folder(folder);
      if (!only) throw ClientError("\"" + folder + "\" is not a folder", exit_code::kUsage);
      json j = json::array();
      std::vector<std::vector<std::string>> rows;
      std::vector<ClientError> failures;
      const auto listed = c->entries(shared, &failures);
      warn_skipped(g, failures);
      for (const auto& e : listed) {
        if (!in_folder(e.folder, *only)) continue;
        const std::string path = hopbox::names::join(e.folder, e.name);
        const std::uint64_t size = plaintext_size(e.summary.payload_size());
        j.push_back({{"item", e.name},
                     {"folder", e.folder},
                     {"path", path},
                     {"owner", e.owner},
                     {"id", e.summary.item_id()},
                     {"version", e.summary.version()},
                     {"size", size},
                     {"stored_size", e.summary.payload_size()},
                     {"created_at", e.summary.created_at()}});
        rows.push_back({e.owner + "/" + path, e.folder.empty() ? "-" : e.folder, human_bytes(size),
                        local_time(e.summary.created_at()),
                        "v" + std::to_string(e.summary.version())});
      }
      if (!rows.empty()) rows.insert(rows.begin(), {"ITEM", "FOLDER", "SIZE", "DATE", "VERSION"});
      emit(g, j, rows.empty() ? "no items" : table(rows));
    } else if (recover->parsed() && !via.empty()) {
      // R2: a new device asks recovery users, then takes over once one approved.
      std::unique_ptr<Client> c;
      if (hopbox::state_exists(dir)) {
        c = Client::open(dir, pin(g), /*to_recover=*/true);
        if (!c->recovery_requested()) {
          c->send_recovery_request();  // refused before: asked again with the same keys
          emit(g, {{"device_id", c->state().device_id}, {"short_code", c->own_key_code()}},
               "Asked again. This device's code: " + c->own_key_code());
        }
      } else {
        const hopbox::DeviceState base = recover_args.resolved();
        if (base.server.empty() || base.server_ca.empty() || base.user.empty()) {
          throw ClientError("recover --via: give --user, --server and --server-ca",
                            exit_code::kUsage);
        }
        c = Client::request_recovery(dir, pin(g), base, via);
        emit(g, {{"device_id", c->state().device_id}, {"short_code", c->own_key_code()}},
             "Asked " + std::to_string(via.size()) +
                 " recovery user(s). Tell them, by phone or in person, this device's code: " +
                 c->own_key_code());
      }
      std::optional<Client::RecoveryReport> r;
      for (int i = 0; i <= wait_seconds * 2; ++i) {
        r = c->complete_recovery(rebuild);
        if (r || i == wait_seconds * 2) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
      if (!r) {
        const auto [valid, needed] = c->recovery_progress();
        json refused = json::array();
        c->watch(0, [&](const hopbox::v1::Notification& n) {
          if (n.has_recovery_refused()) refused.push_back(n.from_user());
          return true;
        });
        if (!refused.empty() && !g.json && !g.quiet)
          std::cout << "refused by: " << refused.dump() << "\n";
        emit(g,
             {{"recovered", false},
              {"valid_shares", valid},
              {"threshold", needed},
              {"refused_by", refused}},
             needed == 0 ? "not approved yet: run `hopbox recover --via ...` again"
                         : std::to_string(valid) + " of " + std::to_string(needed) +
                               " recovery users approved so far: run `hopbox recover --via ...` "
                               "again");
        return exit_code::kFailed;  // waiting
      }
      json report = recovery_report(*r);
      report["recovered"] = true;
      report["safety_number"] = c->own_safety_number();
      emit(g, report,
           "recovered: this device is now " + c->state().user +
               "'s primary, re-certified by the CA" + remade_text(*r));
    } else if (recovery_add->parsed()) {
      const std::string number = Client::open(dir, pin(g))->ask_protection(user);
      emit(g, {{"asked", user}, {"safety_number", number}},
           "asked " + user + (number.empty() ? "" : " (safety number " + number + ")") +
               " to protect this account; their `hopbox watch` asks them");
    } else if (recovery_threshold->parsed()) {
      Client::open(dir, pin(g))->set_threshold(threshold_count, threshold_users);
      emit(g, {{"threshold", threshold_count}, {"users", threshold_users}},
           "any " + std::to_string(threshold_count) + " of " +
               std::to_string(threshold_users.size()) +
               " recovery users can now recover this account together");
    } else if (recovery_expect->parsed()) {
      Client::open(dir, pin(g))->expect_recovery(user, expected_code);
      emit(g, {{"expected", user}, {"code", expected_code}},
           "the device of " + user + " with code " + expected_code +
               " may now ask for recovery (for a day); approve it when `hopbox watch` asks");
    } else if (recovery_remove->parsed()) {
      const int removed = Client::open(dir, pin(g))->remove_protector(user);
      emit(g, {{"removed", user}, {"keys_revoked", removed}},
           user + " can no longer recover this account (" + std::to_string(removed) +
               " key(s) revoked; a threshold set-up that names them is withdrawn too)");
    } else if (recovery_cancel->parsed()) {
      const auto cancelled = Client::open(dir, pin(g))->cancel_recovery(cancel_device);
      std::string text = cancelled.at_service == 0
                             ? "no recovery of this account is in progress at the service"
                             : "cancelled " + std::to_string(cancelled.at_service) +
                                   " recovery(ies) of this account; its devices and recovery "
                                   "users were told";
      if (cancelled.at_ca > 0) {
        text += "\ncancelled " + std::to_string(cancelled.at_ca) +
                " take-over(s) of the primary waiting at the CA";
      }
      emit(g, {{"cancelled", cancelled.at_service}, {"cancelled_at_ca", cancelled.at_ca}}, text);
    } else if (recovery_list->parsed()) {
      json j = json::array();
      std::string text;
      for (const auto& r : Client::open(dir, pin(g))->recoveries()) {
        j.push_back({{"device_id", r.device_id()},
                     {"device_name", r.device_name()},
                     {"new_device", r.new_device()},
                     {"not_before", r.not_before()}});
        text += std::to_string(r.device_id()) + "  " + r.device_name() +
                (r.new_device() ? "  (new device)" : "  (secondary taking over)") +
                "  completes after " + hopbox::internal::format_time(r.not_before()) + "\n";
      }
      emit(g, j, text.empty() ? "no recovery of this account is in progress" : text);
    } else if (recovery_status->parsed()) {
      json j = json::array();
      std::string text;
      for (const auto& u : Client::open(dir, pin(g))->protectors()) {
        j.push_back(u);
        text += "protected by " + u + "\n";
      }
      emit(g, {{"protected_by", j}}, text.empty() ? "no recovery users yet" : text);
    } else if (recover->parsed()) {
      auto c = Client::open(dir, pin(g), /*to_recover=*/true);
      if (!recover_yes) {
        std::cout << "This device will replace " << c->state().user
                  << "'s primary device, which is then revoked and locked out for good. "
                  << "Do this only if the primary is lost. Continue? [y/N] " << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != "y" && answer != "Y" && answer != "yes")
          throw ClientError("not recovered", exit_code::kFailed);
      }
      const auto r = c->recover_as_primary(rebuild);
      json report = recovery_report(r);
      report["safety_number"] = c->own_safety_number();
      emit(g, report,
           "this device is now " + c->state().user + "'s primary; device " +
               std::to_string(r.lost_device) + " is locked out. Re-certified " +
               std::to_string(r.devices_kept) + " device(s), made " +
               std::to_string(r.shares_remade) + " share(s) anew, refreshed " +
               std::to_string(r.items_refreshed) + " item(s); " + std::to_string(r.users_notified) +
               " user(s) who share with you were told." + remade_text(r));
    } else if (refresh->parsed()) {
      const auto [hops, version] = Client::open(dir, pin(g))->refresh(name);
      emit(g, {{"item", name}, {"reencryptions_before", hops}, {"version", version}},
           "refreshed " + name + ": a new level-1 capsule for the primary key (version " +
               std::to_string(version) + "; it took " + std::to_string(hops) +
               " re-encryptions to reach this device before)");
    } else if (rm->parsed()) {
      Client::open(dir, pin(g))->remove(name);
      emit(g, {{"deleted", name}}, "deleted " + name);
    } else if (share->parsed()) {
      // 0 is the wire's "never": a share given 0 or less must not silently become permanent.
      if (share->count("--expires-in") > 0 && expires_in <= 0) {
        throw ClientError("--expires-in " + std::to_string(expires_in) +
                              ": give a positive number of seconds, or leave it out for a share "
                              "that does not expire",
                          2);
      }
      auto c = Client::open(dir, pin(g));
      hopbox::SharePolicyArgs p;
      p.folder = folder;
      p.items = items;
      if (expires_in > 0) {
        p.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       expires_in;
      }
      // Show who the key belongs to before making a re-encryption key towards it.
      std::string number;
      const auto id = c->share(user, p, [&](const std::string& safety_number) {
        number = safety_number;
        if (number.empty() || share_yes) return true;
        std::cout << user << "'s primary device is certified by your CA; its safety number is\n\n  "
                  << number << "\n\n"
                  << user << " sees the same number with `hopbox whoami`. Share "
                  << (folder.empty() && items.empty()
                          ? "all items (the widest grant, also items added later)"
                          : (!folder.empty() ? "folder " + folder : "the listed items"))
                  << "? [y/N] " << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        return answer == "y" || answer == "Y" || answer == "yes";
      });
      hopbox::v1::AccessPolicy shown;
      if (!folder.empty()) {
        shown.set_scope(hopbox::v1::AccessPolicy::SCOPE_FOLDER);
        shown.set_folder(folder);
      } else if (!items.empty()) {
        shown.set_scope(hopbox::v1::AccessPolicy::SCOPE_LISTED_ITEMS);
        for (const auto& i : items) shown.add_item_ids(i);
      }
      const bool widest = folder.empty() && items.empty();
      emit(g,
           {{"share_id", id},
            {"user", user},
            {"safety_number", number},
            {"what", share_scope_text(shown)},
            {"scope", share_scope_name(shown)},
            {"expires_at", p.expires_at},
            {"expires", p.expires_at == 0 ? "never" : local_time(p.expires_at)}},
           "shared " + share_scope_text(shown) + " with " + user + " (share " + std::to_string(id) +
               ", " +
               (p.expires_at == 0 ? "never expires" : "expires " + local_time(p.expires_at)) + ")" +
               (number.empty() ? "" : ", safety number " + number) +
               (widest ? "\nThis is the widest grant: every item of this account, also those "
                         "added later. --folder or --item share less; `hopbox unshare " +
                             std::to_string(id) + "` revokes it."
                       : ""));
    } else if (request->parsed()) {
      const auto id = Client::open(dir, pin(g))->request_access(owner, name, message);
      emit(g, {{"request", id}, {"owner", owner}},
           "asked " + owner + " for access; they see who asks and decide");
    } else if (inbox->parsed()) {
      auto c = Client::open(dir, pin(g));
      if (ack_id != 0) {
        c->acknowledge(ack_id);
        emit(g, {{"acknowledged", ack_id}}, "removed notification " + std::to_string(ack_id));
      } else {
        json j = json::array();
        std::string text;
        c->watch(0, [&](const hopbox::v1::Notification& n) {
          const auto* field =
              hopbox::v1::Notification::descriptor()->FindFieldByNumber(n.payload_case());
          std::string kind = field != nullptr ? field->name() : "unknown";
          std::replace(kind.begin(), kind.end(), '_', '-');  // "access-request", as shown
          json entry = {{"id", n.notification_id()}, {"kind", kind}, {"from_user", n.from_user()}};
          std::string line =
              std::to_string(n.notification_id()) + "  " + kind + " from " + n.from_user();
          if (n.has_access_answer()) {
            const auto& a = n.access_answer();
            // What was asked for, from this device's note (the service cannot read it).
            const auto item = c->asked_for(a.request_id(), n.from_user());
            entry["granted"] = a.granted();
            entry["request"] = a.request_id();
            if (item) entry["item"] = *item;
            line += std::string(a.granted() ? ": granted" : ": refused") + " (" +
                    (!item           ? "request " + std::to_string(a.request_id())
                     : item->empty() ? "everything"
                                     : *item) +
                    ")";
          }
          j.push_back(entry);
          text += line + "\n";
          return true;
        });
        emit(g, j, text.empty() ? "no notifications" : text);
      }
    } else if (watch->parsed()) {
      auto c = Client::open(dir, pin(g));
      json j = json::array();
      hopbox::warn_ca_recoveries(*c, g.json || g.quiet, j);
      const bool forever = watch->count("--seconds") == 0;
      // On stderr: standard output carries the answers (--json).
      if (!g.quiet) {
        std::cerr << "watching " << c->state().user << "'s requests "
                  << (forever ? "until stopped (Ctrl-C)"
                              : "for " + std::to_string(wait_ms) + " second(s)")
                  << "; waiting...\n";
      }
      c->watch(forever ? -1 : wait_ms * 1000, [&](const hopbox::v1::Notification& n) {
        return hopbox::answer_notification(*c, n, answer_yes, answer_no, g.json || g.quiet, j);
      });
      if (g.json) std::cout << j.dump() << "\n";
    } else if (unshare->parsed()) {
      Client::open(dir, pin(g))->unshare(rekey_id);
      emit(g, {{"revoked", rekey_id}}, "share " + std::to_string(rekey_id) + " revoked");
    } else if (shares->parsed()) {
      auto c = Client::open(dir, pin(g));
      json j = json::array();
      std::vector<std::vector<std::string>> rows;
      const auto list = c->shares();
      // The cloud holds opaque ids and folder labels; the person wants the names.
      const bool any_scoped = std::any_of(list.begin(), list.end(), [](const auto& r) {
        return r.policy().scope() != hopbox::v1::AccessPolicy::SCOPE_ALL_ITEMS;
      });
      const Client::OwnNames own = any_scoped ? c->own_names() : Client::OwnNames{};
      auto named = [](const std::map<std::string, std::string>& m, const std::string& key) {
        const auto it = m.find(key);
        return it == m.end() ? key + " (no longer in this account)" : it->second;
      };
      for (const auto& r : list) {
        hopbox::v1::AccessPolicy p = r.policy();
        if (!p.folder().empty()) p.set_folder(named(own.folders, p.folder()));
        for (auto& i : *p.mutable_item_ids()) i = named(own.items, i);
        json listed = json::array();
        for (const auto& i : p.item_ids()) listed.push_back(i);
        const std::string expires = p.expires_at() == 0 ? "never" : local_time(p.expires_at());
        j.push_back({{"id", r.rekey_id()},
                     {"kind", hopbox::v1::ReKeyKind_Name(r.kind())},
                     {"user", r.to_user()},
                     {"device_id", r.to_device_id()},
                     {"what", share_scope_text(p)},
                     {"scope", share_scope_name(p)},
                     {"folder", p.folder()},
                     {"items", listed},
                     {"expires_at", p.expires_at()},
                     {"expires", expires}});
        // Keys to the account's own devices and recovery keys are listed too: they also
        // decide who reads what.
        rows.push_back({std::to_string(r.rekey_id()), rekey_kind_name(r.kind()),
                        r.to_user() + (r.kind() == hopbox::v1::REKEY_KIND_SHARE
                                           ? ""
                                           : " (device " + std::to_string(r.to_device_id()) + ")"),
                        share_scope_text(p),
                        p.expires_at() == 0 ? "never expires" : "expires " + expires});
      }
      if (!rows.empty()) rows.insert(rows.begin(), {"ID", "KIND", "WITH", "WHAT", "EXPIRY"});
      emit(g, j, rows.empty() ? "no shares" : table(rows));
    }
    return exit_code::kOk;
  } catch (const ClientError& e) {
    std::cerr << "hopbox: " << e.what() << "\n";
    return e.exit_code();
  } catch (const hopbox::TokenError& e) {
    std::cerr << "hopbox: token: " << e.what() << "\n";
    return exit_code::kFailed;
  } catch (const std::exception& e) {
    std::cerr << "hopbox: " << e.what() << "\n";
    return exit_code::kFailed;
  }
}
