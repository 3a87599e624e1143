# Install the build tree into a scratch prefix, then build and run a consumer program with
# find_package(maf) and, separately, with pkg-config.
file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
macro(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endmacro()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
# pkg-config
find_program(PKGCONF pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
execute_process(COMMAND ${PKGCONF} --cflags --libs maf OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT flags MATCHES "-lmaf")
  message(FATAL_ERROR "pkg-config --libs maf failed: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc ${SRC}/consumer.c -o ${WORK}/consumer_pc ${flags} -lm -Wl,-rpath,${prefix}/lib)
run(${WORK}/consumer_pc)
# the installed tool runs
run(${prefix}/bin/maf --version)
