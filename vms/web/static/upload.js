// Resumable chunked upload (the offset protocol of vms.bodyworn.uploads): announce the
// file, PUT it chunk by chunk from the offset the server says; after a cut (network error,
// closed tab, server restart) GET the offset and go on from there. The upload's id is kept
// in localStorage under the file's name, size and time, so choosing the same file again
// resumes it.
"use strict";

const uploads = {
  key(file) { return `vms-upload:${file.name}:${file.size}:${file.lastModified}`; },

  async start(file, extra) {
    const stored = localStorage.getItem(this.key(file));
    if (stored) {
      try {
        const up = await api.get(`/api/bodyworn/uploads/${stored}`);
        if (up.status === "open") return up;
      } catch (e) { /* gone or not ours: start again */ }
    }
    const up = await api.post("/api/bodyworn/uploads", {
      filename: file.name,
      size: file.size,
      modified_at: new Date(file.lastModified).toISOString(),
      ...extra,
    });
    localStorage.setItem(this.key(file), up.id);
    return up;
  },

  put(up, offset, blob, onBytes) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", `${up.url}?offset=${offset}`);
      xhr.setRequestHeader("X-Requested-With", "vms");
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.responseType = "json";
      xhr.upload.onprogress = (ev) => onBytes(offset + ev.loaded);
      xhr.onload = () => resolve({ status: xhr.status, data: xhr.response });
      xhr.onerror = () => reject(new Error(t("connection lost")));
      xhr.send(blob);
    });
  },

  // Upload one file; onProgress(bytesSent, total). Resolves with the final upload record
  // (status stored, duplicate or rejected, file_id, message).
  async send(file, extra, onProgress) {
    let up = await this.start(file, extra);
    let offset = up.offset;
    let failures = 0;
    while (up.status === "open") {
      const blob = file.slice(offset, offset + up.chunk_bytes);
      let answer;
      try {
        answer = await this.put(up, offset, blob, (n) => onProgress(n, file.size));
      } catch (e) {
        if (++failures > 30) throw e;
        await new Promise((r) => setTimeout(r, Math.min(30000, 1000 * failures)));
        up = await api.get(`/api/bodyworn/uploads/${up.id}`);  // where did it stop?
        offset = up.offset;
        continue;
      }
      if (answer.status === 409) {
        up = await api.get(`/api/bodyworn/uploads/${up.id}`);
        offset = up.offset;
        continue;
      }
      if (answer.status >= 400) throw new Error(answer.data?.message || `HTTP ${answer.status}`);
      failures = 0;
      up = answer.data;
      offset = up.offset;
      onProgress(offset, file.size);
    }
    localStorage.removeItem(this.key(file));
    return up;
  },
};
