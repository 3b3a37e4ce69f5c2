# Corrupts single values of the mupre known-answer file and expects hopbox-vectors to exit 1
# naming exactly that value; an unknown scheme and an out-of-range index must give exit 2.
file(READ "${SRC}" text)

# Replaces hex digit 40 of the string at the JSON path ARGN and checks the report.
function(expect_named name expected_where)
  string(JSON value GET "${text}" ${ARGN})
  string(SUBSTRING "${value}" 40 1 digit)
  if(digit STREQUAL "0")
    set(other "1")
  else()
    set(other "0")
  endif()
  string(SUBSTRING "${value}" 0 40 head)
  string(SUBSTRING "${value}" 41 -1 tail)
  string(JSON bad SET "${text}" ${ARGN} "\"${head}${other}${tail}\"")
  file(WRITE "${WORK}/${name}.json" "${bad}")
  execute_process(COMMAND "${TOOL}" "${WORK}/${name}.json" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 1 OR NOT out MATCHES "MISMATCH at ${expected_where}\n")
    message(FATAL_ERROR "corrupted ${expected_where} not reported (rc=${rc}): ${out}")
  endif()
endfunction()

expect_named(pk "chains\\[0\\]\\.keys\\[3\\]\\.pk" chains 0 keys 3 pk)
expect_named(c2 "chains\\[0\\]\\.enc\\.C2" chains 0 enc C2)
expect_named(k "chains\\[1\\]\\.enc\\.K" chains 1 enc K)
expect_named(h2x "chains\\[0\\]\\.rks\\[1\\]\\.H2_X" chains 0 rks 1 H2_X)
expect_named(r "chains\\[0\\]\\.rks\\[2\\]\\.R" chains 0 rks 2 R)
expect_named(d2 "chains\\[1\\]\\.rks\\[1\\]\\.D2" chains 1 rks 1 D2)
expect_named(u2 "chains\\[1\\]\\.levels\\[2\\]\\.blocks\\[0\\]\\.U2" chains 1 levels 2 blocks 0 U2)
expect_named(u1 "chains\\[0\\]\\.levels\\[4\\]\\.blocks\\[4\\]\\.U1" chains 0 levels 4 blocks 4 U1)
expect_named(lk "chains\\[0\\]\\.levels\\[3\\]\\.K" chains 0 levels 3 K)

# A wrong holder index is a mismatch too.
string(JSON bad SET "${text}" chains 0 levels 2 blocks 1 holder 4)
file(WRITE "${WORK}/holder.json" "${bad}")
execute_process(COMMAND "${TOOL}" "${WORK}/holder.json" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 1 OR NOT out MATCHES "MISMATCH at chains\\[0\\]\\.levels\\[2\\]\\.blocks\\[1\\]\\.holder")
  message(FATAL_ERROR "wrong holder not reported (rc=${rc}): ${out}")
endif()

# Input that cannot be checked: another scheme, an index past the keys, a non-canonical scalar.
string(JSON bad SET "${text}" scheme "\"mupre v2\"")
file(WRITE "${WORK}/scheme.json" "${bad}")
string(JSON bad2 SET "${text}" chains 1 rks 0 to 7)
file(WRITE "${WORK}/index.json" "${bad2}")
string(JSON bad3 SET "${text}" chains 0 enc r
       "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"")
file(WRITE "${WORK}/scalar.json" "${bad3}")
foreach(f scheme index scalar)
  execute_process(COMMAND "${TOOL}" "${WORK}/${f}.json" RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_QUIET)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${f}.json gave rc=${rc}, expected 2: ${err}")
  endif()
endforeach()
