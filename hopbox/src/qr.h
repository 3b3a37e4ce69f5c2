// A QR code for the terminal (libqrencode), two modules per character row.
#pragma once

#include <string>

namespace hopbox {

// The text as a QR code drawn with Unicode half blocks, quiet zone included; empty if the
// text does not fit a QR code.
std::string terminal_qr(const std::string& text);

}  // namespace hopbox
