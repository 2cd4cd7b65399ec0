#!/usr/bin/env node
// Uploads a file to dailies with tus-js-client (4.x, the Node.js build), as a program would.
//
// Run by tests/tus_clients.rs. Modes:
//   default            upload FILE (an fs.ReadStream, sliced by chunkSize) from --endpoint
//   --abort-at F       abort the upload at the first progress callback at or past fraction F of
//                      the file (0 < F < 1) and exit, printing the upload URL
//   --url URL          resume that upload (no endpoint is given, so a failed resume is an error
//                      instead of a silently new upload)
//   --parallel N       split the file into N partial uploads joined by a final one (concatenation)
//   --deferred         send the file as a plain stream of unknown length (Upload-Defer-Length)
//
// Progress goes to stdout as one JSON object per line:
//   {"event":"created","url":...}                  once the upload URL is known
//   {"event":"head","offset":...,"length":...}     each HEAD response (the resume point)
//   {"event":"aborted","url":...,"sent":...,"size":...}
//   {"event":"done","url":...,"size":...,"video_id":...,"patched":...,"requests":[...]}
// "video_id" is the Dailies-Video-Id header of the last response; "patched" the body bytes
// sent by PATCH requests in this run. Exit codes: 0 done or aborted as asked, 1 upload error,
// 2 bad arguments, 3 tus-js-client not installed.

import fs from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { parseArgs } from 'node:util'

let tus
try {
  tus = await import('tus-js-client')
} catch (e) {
  console.error(`tus-js-client is not installed (${e.message}): run crates/server/tests/clients/install.sh`)
  process.exit(3)
}

const emit = (event, fields) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)

let args
try {
  args = parseArgs({
    options: {
      endpoint: { type: 'string' },
      token: { type: 'string' },
      file: { type: 'string' },
      filename: { type: 'string' },
      'chunk-size': { type: 'string', default: String(256 * 1024) },
      'abort-at': { type: 'string' },
      url: { type: 'string' },
      parallel: { type: 'string' },
      deferred: { type: 'boolean', default: false },
    },
  }).values
} catch (e) {
  console.error(e.message)
  process.exit(2)
}
if (!args.token || !args.file || (!args.endpoint && !args.url)) {
  console.error('usage: tus_js_upload.mjs --token T --file F (--endpoint URL | --url URL) [...]')
  process.exit(2)
}

const size = fs.statSync(args.file).size
const abortAt = args['abort-at'] != null ? Number(args['abort-at']) : null
const requests = []
let patched = 0
let aborted = false

const source = args.deferred
  ? fs.createReadStream(args.file).pipe(new PassThrough()) // a stream of unknown length
  : fs.createReadStream(args.file) // an fs.ReadStream with a path: tus-js-client slices the file

const options = {
  endpoint: args.url ? null : args.endpoint,
  uploadUrl: args.url ?? null,
  headers: { Authorization: `Bearer ${args.token}` },
  chunkSize: Number(args['chunk-size']),
  metadata: {
    filename: args.filename ?? path.basename(args.file),
    filetype: 'video/mp4',
  },
  retryDelays: [100, 500, 1000, 2000],
  storeFingerprintForResuming: false,
  uploadLengthDeferred: args.deferred,
  onUploadUrlAvailable: () => emit('created', { url: upload.url }),
  onBeforeRequest: (req) => {
    if (req.getMethod() === 'PATCH') {
      req._dailiesStart = Number(req.getHeader('Upload-Offset'))
    }
  },
  onAfterResponse: (req, res) => {
    const entry = { method: req.getMethod(), url: req.getURL(), status: res.getStatus() }
    const offset = res.getHeader('Upload-Offset')
    if (offset != null) entry.offset = Number(offset)
    requests.push(entry)
    if (req.getMethod() === 'HEAD') {
      emit('head', { offset: entry.offset ?? null, length: Number(res.getHeader('Upload-Length') ?? Number.NaN) })
    }
    if (req.getMethod() === 'PATCH' && offset != null && req._dailiesStart != null) {
      patched += Number(offset) - req._dailiesStart
    }
  },
  onProgress: (sent, total) => {
    if (abortAt == null || aborted || total == null || sent < abortAt * total) return
    aborted = true
    upload.abort().then(() => {
      emit('aborted', { url: upload.url, sent, size, requests })
      process.exit(0)
    })
  },
  onSuccess: ({ lastResponse }) => {
    emit('done', {
      url: upload.url,
      size,
      video_id: lastResponse.getHeader('Dailies-Video-Id') ?? null,
      patched,
      requests,
    })
    process.exit(0)
  },
  onError: (error) => {
    console.error(`upload failed: ${error.message}`)
    console.error(JSON.stringify(requests))
    process.exit(1)
  },
}
if (args.parallel) {
  options.parallelUploads = Number(args.parallel)
  options.metadataForPartialUploads = { filetype: 'application/octet-stream' }
}

const upload = new tus.Upload(source, options)
upload.start()
