// The end-to-end fixture: a real hopboxd (and, for the CA tests, a real hopbox-ca) on
// loopback, the hopbox command line, and one SoftHSM2 token per device, all in a temporary
// folder removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <pty.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "hopbox/testing/softhsm.h"
#include "test_ca.h"
#include "test_server.h"

namespace hopbox {

namespace fs = std::filesystem;
using nlohmann::json;

struct CliRun {
  int exit_code;
  std::string out;
};

// Runs `command` under a pseudo-terminal (its standard input, output and error), types `typed`
// once `prompt` appeared, and returns the exit code and everything the terminal showed.
inline CliRun run_on_terminal(const std::string& command, const std::string& prompt,
                              const std::string& typed) {
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string shown;
  bool sent = false;
  char buf[512];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child closed the terminal
    shown.append(buf, static_cast<std::size_t>(n));
    if (!sent && shown.find(prompt) != std::string::npos) {
      sent = write(master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size());
    }
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, shown};
}

class EndToEnd : public ::testing::Test {
 protected:
  // Also run a hopbox-ca and configure every device with it.
  virtual bool with_ca() const { return false; }
  // The service's recovery waiting period (none by default, so that recoveries complete
  // within one test).
  virtual std::string recovery_wait() const { return "0"; }

  void SetUp() override {
    char tmpl[] = "/tmp/hopbox-e2e-XXXXXX";
    dir_ = mkdtemp(tmpl);
    hopbox::testing::configure_softhsm(dir_);
    setenv("HOPBOX_PIN", "1234", 1);
    for (const char* t : {"alice1", "alice2", "bob1", "bob2"}) {
      hopbox::testing::init_softhsm_token(t, "1234");
    }
    std::vector<std::string> server_args;
    if (with_ca()) {
      // The service too knows the CA: it admits certified devices only and polls revocations.
      // The CA's R1 waits as long as the cloud's (issue 12): a secondary cannot skip it there.
      ca_ = std::make_unique<hopbox_ca::test::TestCa>(
          "", std::vector<std::string>{"--recovery-wait-seconds", recovery_wait()});
      server_args = {
          "--ca", ca_->address(), "--ca-root", ca_->root_pem().string(), "--revocation-refresh",
          "1"};
    }
    server_args.push_back("--recovery-wait-seconds");
    server_args.push_back(recovery_wait());
    server_ = std::make_unique<hopboxd::test::TestServer>(server_args);
    server_opts_ = " --server 127.0.0.1:" + std::to_string(server_->port()) + " --server-ca " +
                   (server_->dir() / "tls" / "cert.pem").string() + " --module " + SOFTHSM_MODULE;
    if (ca_) server_opts_ += " --ca " + ca_->address() + " --ca-root " + ca_->root_pem().string();
  }
  void TearDown() override {
    server_.reset();
    ca_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the client for device `device` (its state folder) with arguments; stdout and code.
  CliRun hopbox(const std::string& device, const std::string& args) {
    const auto [code, out] = hopbox::testing::run_capture(
        std::string(HOPBOX_BINARY) + " --json --state " + (dir_ / device).string() + " " + args +
        " 2>" + (dir_ / "stderr.txt").string());
    return {code, out};
  }
  json ok(const std::string& device, const std::string& args) {
    const CliRun r = hopbox(device, args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << hopboxd::test::read_all(dir_ / "stderr.txt");
    return r.out.empty() ? json() : json::parse(r.out, nullptr, false);
  }
  // An account with a primary (token user1) and an approved secondary (token user2).
  void make_user(const std::string& user) {
    const std::string enroll = ca_ ? " --enroll-code " + ca_->invite(user) : "";
    ok(user + "1", "init --user " + user + " --token " + user + "1 --device-name primary" + enroll +
                       server_opts_);
    const json add = ok(user + "2", "device add --user " + user + " --token " + user +
                                        "2 --device-name secondary" + server_opts_);
    ASSERT_TRUE(add.contains("pairing_code"));
    const json approved =
        ok(user + "1", "device approve --yes " + add["pairing_code"].get<std::string>());
    EXPECT_EQ(approved["short_code"], add["short_code"]);  // both sides show the same code
    EXPECT_EQ(ok(user + "2", "device status")["approved"], true);
  }
  fs::path file(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string read(const fs::path& p) { return hopboxd::test::read_all(p); }

  std::string last_error() { return hopboxd::test::read_all(dir_ / "stderr.txt"); }

  // Runs SQL on hopboxd's database, as a dishonest cloud could.
  void cloud_sql(const std::string& sql, const std::vector<std::string>& blobs = {}) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((server_->dir() / "hopbox.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    for (std::size_t i = 0; i < blobs.size(); ++i) {
      sqlite3_bind_blob(st, static_cast<int>(i + 1), blobs[i].data(),
                        static_cast<int>(blobs[i].size()), SQLITE_TRANSIENT);
    }
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  // Makes hopboxd's database fail every statement `event` names (e.g. "UPDATE ON items"),
  // as a cloud failing half-way would, until stop_failing(name).
  void fail_on(const std::string& name, const std::string& event) {
    cloud_sql("CREATE TRIGGER " + name + " BEFORE " + event +
              " BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  }
  void stop_failing(const std::string& name) { cloud_sql("DROP TRIGGER " + name); }
  // The first column of the first row of a query on hopboxd's database.
  std::int64_t cloud_int(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((server_->dir() / "hopbox.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    const std::int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
  json state_of(const std::string& device) {
    return json::parse(hopboxd::test::read_all(dir_ / device / "device.json"));
  }
  // A device's session, for what the honest client never sends.
  hopboxd::test::TestDevice session_of(const std::string& device) {
    ok(device, "ls");  // signs in, if it had no session yet
    hopboxd::test::TestDevice d;
    d.token = state_of(device)["session_token"].get<std::string>();
    d.id = state_of(device)["device_id"].get<std::int64_t>();
    return d;
  }

  fs::path dir_;
  std::unique_ptr<hopboxd::test::TestServer> server_;
  std::unique_ptr<hopbox_ca::test::TestCa> ca_;
  std::string server_opts_;
};

}  // namespace hopbox
