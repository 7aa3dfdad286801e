/*
 * Status codes returned in x0 by every exo hypercall. 0 is success; each
 * refusal has its own negative code so a guest (and a test) can tell why.
 * EXO_ENOTSUP is SMCCC's NOT_SUPPORTED.
 */
#ifndef EXO_ERRORS_H
#define EXO_ERRORS_H

#define EXO_OK 0
#define EXO_ENOTSUP (-1)    /* unknown function ID (SMCCC NOT_SUPPORTED) */
#define EXO_EINVAL (-2)     /* malformed argument: zero or huge count, bad flags */
#define EXO_ERANGE (-3)     /* address unaligned, outside RAM, or range overflows */
#define EXO_ENOMEM (-4)     /* EL2 has no free frames (or no run that fits) */
#define EXO_EQUOTA (-5)     /* the caller's frame quota would be exceeded */
#define EXO_EPERM (-6)      /* the caller does not own the frame */
#define EXO_EBUSY (-7)      /* the frame is not free (alloc-at) */
#define EXO_ESHARED (-8)    /* the frame is shared: unshare it first */
#define EXO_ELENT (-9)      /* the frame is lent away: reclaim it first */
#define EXO_EHYP (-10)      /* the frame belongs to EL2 */
#define EXO_EDEVICE (-11)   /* the range is a device, not RAM */
#define EXO_ENOENT (-12)    /* no such guest */
#define EXO_EDENIED (-13)   /* the manifest does not allow this between guests */
#define EXO_ESTATE (-14)    /* the frame is in a state this call does not accept
                             * (RECLAIMED_ACK: the list changed since) */
#define EXO_EFULL (-15)     /* the caller's table of offers is full */

#endif
