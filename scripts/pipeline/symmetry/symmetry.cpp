// Facial symmetry of an aligned face crop.
//
// usage: symmetry FACE.pgm REPORT.json [THRESHOLD]
//
// The crop comes from dlib's get_face_chip (eyes level, face centred, padding 0.25), so the
// face's own vertical axis is the image's centre column. Inside the central face region we
// compare each left pixel with its mirror on the right:
//   * intensity_ncc: normalised cross-correlation of grey levels (left vs mirrored right),
//   * gradient_ncc:  the same for gradient magnitudes (structure; less sensitive to light
//     falling from one side).
// score = clamp(0.5 * (intensity_ncc + gradient_ncc), 0, 1). A mirrored-symmetric image scores
// 1, noise about 0. Exit status: 0 report written, 2 bad arguments or unreadable image.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Gray {
    int width = 0;
    int height = 0;
    std::vector<double> px;
    double at(int x, int y) const { return px[static_cast<size_t>(y) * width + x]; }
};

bool next_token(std::istream& in, std::string& token) {
    token.clear();
    char c;
    while (in.get(c)) {
        if (c == '#') {  // comment to end of line
            std::string skip;
            std::getline(in, skip);
        } else if (!std::isspace(static_cast<unsigned char>(c))) {
            token.push_back(c);
            break;
        }
    }
    while (in.get(c) && !std::isspace(static_cast<unsigned char>(c))) token.push_back(c);
    return !token.empty();
}

bool read_pgm(const std::string& path, Gray& img, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) { error = "cannot open " + path; return false; }
    std::string magic, w, h, maxval;
    if (!next_token(in, magic) || magic != "P5") { error = path + " is not a binary PGM (P5)"; return false; }
    if (!next_token(in, w) || !next_token(in, h) || !next_token(in, maxval)) { error = path + " has a broken header"; return false; }
    img.width = std::atoi(w.c_str());
    img.height = std::atoi(h.c_str());
    if (img.width < 8 || img.height < 8 || maxval != "255") { error = path + " must be an 8-bit image of at least 8x8"; return false; }
    std::vector<unsigned char> raw(static_cast<size_t>(img.width) * img.height);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
    if (in.gcount() != static_cast<std::streamsize>(raw.size())) { error = path + " is truncated"; return false; }
    img.px.assign(raw.begin(), raw.end());
    return true;
}

double ncc(const std::vector<double>& a, const std::vector<double>& b) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < a.size(); ++i) { ma += a[i]; mb += b[i]; }
    ma /= a.size(); mb /= b.size();
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double da = a[i] - ma, db = b[i] - mb;
        sab += da * db; saa += da * da; sbb += db * db;
    }
    if (saa < 1e-9 || sbb < 1e-9) return (saa < 1e-9 && sbb < 1e-9) ? 1.0 : 0.0;
    return sab / std::sqrt(saa * sbb);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: symmetry FACE.pgm REPORT.json [THRESHOLD]\n";
        return 2;
    }
    const double threshold = argc == 4 ? std::atof(argv[3]) : 0.6;
    Gray img;
    std::string error;
    if (!read_pgm(argv[1], img, error)) {
        std::cerr << "symmetry: " << error << "\n";
        return 2;
    }
    // The inner face (eyes, nose, mouth, cheeks) of a get_face_chip crop with padding 0.25; hair
    // and background at the sides are left out. The mirror axis is searched within +-MAX_SHIFT
    // columns of the centre: the chip centres the landmarks, not necessarily the nose line.
    const int x0 = static_cast<int>(img.width * 0.22), x1 = img.width - x0;
    const int y0 = static_cast<int>(img.height * 0.25), y1 = static_cast<int>(img.height * 0.88);
    const int max_shift = std::max(1, img.width / 50);
    auto grad = [&](int x, int y) {
        const int xl = std::max(x - 1, 0), xr = std::min(x + 1, img.width - 1);
        const int yu = std::max(y - 1, 0), yd = std::min(y + 1, img.height - 1);
        const double gx = img.at(xr, y) - img.at(xl, y), gy = img.at(x, yd) - img.at(x, yu);
        return std::sqrt(gx * gx + gy * gy);
    };
    double intensity = -1.0, gradient = -1.0, best = -2.0;
    int best_shift = 0;
    for (int shift = -max_shift; shift <= max_shift; ++shift) {
        // axis between columns (c - 1) and c, with c = width / 2 + shift
        const int c = img.width / 2 + shift;
        const int half = std::min(c - x0, x1 - c);
        std::vector<double> left, right, gleft, gright;
        for (int y = y0; y < y1; ++y) {
            for (int d = 0; d < half; ++d) {
                const int l = c - 1 - d, r = c + d;
                left.push_back(img.at(l, y));
                right.push_back(img.at(r, y));
                gleft.push_back(grad(l, y));
                gright.push_back(grad(r, y));
            }
        }
        const double i_ncc = ncc(left, right), g_ncc = ncc(gleft, gright);
        if (i_ncc + g_ncc > best) {
            best = i_ncc + g_ncc;
            intensity = i_ncc;
            gradient = g_ncc;
            best_shift = shift;
        }
    }
    const double score = std::clamp(0.5 * (intensity + gradient), 0.0, 1.0);
    std::ofstream out(argv[2]);
    if (!out) {
        std::cerr << "symmetry: cannot write " << argv[2] << "\n";
        return 2;
    }
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"score\": %.6f, \"intensity_ncc\": %.6f, \"gradient_ncc\": %.6f, \"threshold\": %.6f, "
                  "\"symmetric\": %s, \"axis_shift\": %d, \"width\": %d, \"height\": %d, \"region\": [%d, %d, %d, %d]}\n",
                  score, intensity, gradient, threshold, score >= threshold ? "true" : "false", best_shift, img.width,
                  img.height, x0, y0, x1 - x0, y1 - y0);
    out << buf;
    std::cout << "symmetry score " << score << " (intensity " << intensity << ", gradient " << gradient << ")\n";
    return out.good() ? 0 : 2;
}
