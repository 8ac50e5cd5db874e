/* SPDX-License-Identifier: MIT */
/* libslirp-version.h - the libslirp release whose API and ABI qnet's libslirp.so.0 provides */
#ifndef LIBSLIRP_VERSION_H_
#define LIBSLIRP_VERSION_H_

#define SLIRP_MAJOR_VERSION 4
#define SLIRP_MINOR_VERSION 7
#define SLIRP_MICRO_VERSION 0
#define SLIRP_VERSION_STRING "4.7.0"

/* SLIRP_CHECK_VERSION() - the API is at least major.minor.micro */
#define SLIRP_CHECK_VERSION(major, minor, micro)					\
	(SLIRP_MAJOR_VERSION > (major) ||						\
	 (SLIRP_MAJOR_VERSION == (major) && SLIRP_MINOR_VERSION > (minor)) ||		\
	 (SLIRP_MAJOR_VERSION == (major) && SLIRP_MINOR_VERSION == (minor) &&		\
	  SLIRP_MICRO_VERSION >= (micro)))

#endif /* LIBSLIRP_VERSION_H_ */
