// What the shell and `man` know of the hopbox command line, generated from the CLI11 app
// itself (its subcommands and options) so that they cannot fall behind it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace hopbox {

// A bash script defining the completion function _hopbox and registering it (`complete`).
std::string bash_completion(CLI::App& app);
// A zsh script (#compdef hopbox): the same words as bash_completion.
std::string zsh_completion(CLI::App& app);
// hopbox.1 in roff (man(7)): every visible command with its options, the exit codes and the
// environment.
std::string man_page(CLI::App& app, const std::string& version);

}  // namespace hopbox
