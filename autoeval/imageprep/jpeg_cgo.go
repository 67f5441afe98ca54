//go:build cgo && !purejpeg

package imageprep

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg reports fatal errors by calling error_exit, whose default prints and
// calls exit(). The handler below jumps back to the decode function instead,
// so a corrupt file becomes an error code and the process survives.
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int truncated;
	char msg[JMSG_LENGTH_MAX];
} capeval_jerr;

static void capeval_error_exit(j_common_ptr cinfo) {
	capeval_jerr *e = (capeval_jerr *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jump, 1);
}

// Warnings are not printed. Running out of data is a warning to libjpeg (it
// pads with grey); PIL refuses such a file ("image file is truncated"), so it
// is recorded and turned into an error. Other warnings are ignored, as PIL
// ignores them.
static void capeval_emit_message(j_common_ptr cinfo, int level) {
	capeval_jerr *e = (capeval_jerr *)cinfo->err;
	if (level < 0) {
		cinfo->err->num_warnings++;
		if (cinfo->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
	}
}

enum { CAPEVAL_OK = 0, CAPEVAL_ERR = 1, CAPEVAL_SIZE = 2, CAPEVAL_TRUNCATED = 3 };

// The result comes back by value so Go passes no pointers to its stack
// (which would move those variables to the heap on every call); msg is
// malloc'ed only for CAPEVAL_ERR and freed by the caller.
typedef struct {
	int rc, w, h;
	char *msg;
} capeval_result;

static char *capeval_strdup(const char *s) {
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d != NULL) memcpy(d, s, n);
	return d;
}

// capeval_jpeg reads the header (header_only) or decodes the whole image to
// packed RGB in out, which must hold want_w*want_h*3 bytes. CMYK and YCCK
// files are decoded to CMYK and converted as PIL does: PIL reads every
// four-component JPEG as inverted ("CMYK;I", Adobe's convention), with or
// without an Adobe marker, then R = (255-C)(255-K)/255 rounded.
static capeval_result capeval_jpeg(const unsigned char *data, unsigned long size, int header_only,
		unsigned char *out, int want_w, int want_h) {
	struct jpeg_decompress_struct cinfo;
	capeval_jerr jerr;
	capeval_result res = {CAPEVAL_OK, 0, 0, NULL};
	unsigned char *volatile cmyk = NULL;
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = capeval_error_exit;
	jerr.pub.emit_message = capeval_emit_message;
	jerr.truncated = 0;
	jerr.msg[0] = 0;
	if (setjmp(jerr.jump)) {
		jpeg_destroy_decompress(&cinfo);
		free(cmyk);
		res.rc = CAPEVAL_ERR;
		res.msg = capeval_strdup(jerr.msg);
		return res;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, size);
	jpeg_read_header(&cinfo, TRUE);
	res.w = (int)cinfo.image_width;
	res.h = (int)cinfo.image_height;
	if (header_only) {
		jpeg_destroy_decompress(&cinfo);
		res.rc = jerr.truncated ? CAPEVAL_TRUNCATED : CAPEVAL_OK;
		return res;
	}
	if (res.w != want_w || res.h != want_h) {
		jpeg_destroy_decompress(&cinfo);
		res.rc = CAPEVAL_SIZE;
		return res;
	}
	int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
	cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB;
	jpeg_start_decompress(&cinfo);
	if ((int)cinfo.output_width != want_w || (int)cinfo.output_height != want_h) {
		jpeg_destroy_decompress(&cinfo);
		res.rc = CAPEVAL_SIZE;
		return res;
	}
	size_t stride = (size_t)want_w * 3;
	if (!is_cmyk) {
		JSAMPROW rows[8];
		while (cinfo.output_scanline < cinfo.output_height) {
			int n = (int)(cinfo.output_height - cinfo.output_scanline);
			if (n > 8) n = 8;
			for (int i = 0; i < n; i++) rows[i] = out + (cinfo.output_scanline + i) * stride;
			jpeg_read_scanlines(&cinfo, rows, n);
		}
	} else {
		cmyk = malloc((size_t)want_w * 4);
		if (cmyk == NULL) {
			jpeg_destroy_decompress(&cinfo);
			res.rc = CAPEVAL_ERR;
			res.msg = capeval_strdup("out of memory");
			return res;
		}
		const int inv = 255;
		while (cinfo.output_scanline < cinfo.output_height) {
			unsigned char *dst = out + cinfo.output_scanline * stride;
			JSAMPROW row = cmyk;
			jpeg_read_scanlines(&cinfo, &row, 1);
			for (int x = 0; x < want_w; x++) {
				int k = 255 - (cmyk[4*x+3] ^ inv);
				for (int c = 0; c < 3; c++) {
					unsigned t = (unsigned)(255 - (cmyk[4*x+c] ^ inv)) * (unsigned)k + 128;
					dst[3*x+c] = (unsigned char)(((t >> 8) + t) >> 8);
				}
			}
		}
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	free(cmyk);
	res.rc = jerr.truncated ? CAPEVAL_TRUNCATED : CAPEVAL_OK;
	return res;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// jpegDecoder names the JPEG decoder compiled in, for tests and benchmarks.
const jpegDecoder = "libjpeg-turbo"

var errTruncatedJPEG = errors.New("imageprep: decode jpeg: premature end of data (truncated file)")

// cMessage returns and frees the message of a CAPEVAL_ERR result.
func cMessage(res C.capeval_result) string {
	if res.msg == nil {
		return "unknown libjpeg error"
	}
	defer C.free(unsafe.Pointer(res.msg))
	return C.GoString(res.msg)
}

// jpegSize reads the JPEG header with libjpeg, so that every file libjpeg can
// decode (arithmetic coding, 12-bit, ...) gets the same pixel-limit check.
func jpegSize(data []byte) (w, h int, err error) {
	res := C.capeval_jpeg((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), 1, nil, 0, 0)
	switch res.rc {
	case C.CAPEVAL_OK:
		return int(res.w), int(res.h), nil
	case C.CAPEVAL_TRUNCATED:
		return 0, 0, errTruncatedJPEG
	}
	return 0, 0, fmt.Errorf("imageprep: read jpeg header: %s", cMessage(res))
}

// decodeJPEG decodes straight into packed RGB scanlines with libjpeg-turbo,
// with the settings PIL uses (islow IDCT, fancy upsampling), so the pixels
// equal PIL's on the same library.
func decodeJPEG(data []byte, w, h int, buf []uint8) (rgbImage, error) {
	pix := grow(buf, w*h*3)
	res := C.capeval_jpeg((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), 0,
		(*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h))
	switch res.rc {
	case C.CAPEVAL_OK:
		return rgbImage{Pix: pix, W: w, H: h, Stride: 3 * w}, nil
	case C.CAPEVAL_TRUNCATED:
		return rgbImage{}, errTruncatedJPEG
	case C.CAPEVAL_SIZE:
		return rgbImage{}, fmt.Errorf("imageprep: decode jpeg: size %dx%d differs from the header's %dx%d", int(res.w), int(res.h), w, h)
	}
	return rgbImage{}, fmt.Errorf("imageprep: decode jpeg: %s", cMessage(res))
}
